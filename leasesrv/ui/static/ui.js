// The status page's only script: it polls /ui/status.json every two seconds
// and brings the map, the leases and the switches up to date in place, so an
// opened history stays open. Text is set with textContent only.
"use strict";
(function () {
  const main = document.getElementById("status");
  if (!main) return; // the sign-in form
  const every = 2000;
  let etag = "";

  const stamp = (s) => new Date(s).toISOString().slice(0, 19).replace("T", " ") + " UTC";
  const set = (el, text) => { if (el.textContent !== text) el.textContent = text; };
  const cellTitle = (v) => "VLAN " + v.vid + ": " + v.state +
    (v.job ? ", job " + v.job + (v.owner ? " (" + v.owner + ")" : "") : "");

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // A lease row has the same cells as the template draws.
  function leaseRow(l) {
    const tr = el("tr");
    tr.dataset.job = l.job;
    const details = el("details");
    details.append(el("summary", "", l.job), el("ol", "history"));
    details.addEventListener("toggle", () => { if (details.open) loadHistory(tr); });
    const job = el("td", "job"); job.append(details);
    const state = el("td", "state"); state.append(el("span", "badge"));
    tr.append(job, el("td", "owner"), el("td", "vid"), state, el("td", "hosts"), el("td", "expires"));
    return tr;
  }

  function fillLease(tr, l) {
    const updated = String(Date.parse(l.updated_at));
    const changed = tr.dataset.updated !== updated;
    tr.dataset.updated = updated;
    set(tr.querySelector(".owner"), l.owner);
    set(tr.querySelector(".vid"), String(l.vlan));
    const badge = tr.querySelector(".badge");
    badge.dataset.state = l.state;
    set(badge, l.state);
    set(tr.querySelector(".hosts"), l.hosts.join(" "));
    set(tr.querySelector(".expires"), stamp(l.expires_at));
    if (changed && tr.querySelector("details").open) loadHistory(tr);
  }

  async function loadHistory(tr) {
    const list = tr.querySelector(".history");
    try {
      const r = await fetch("/ui/history.json?job=" + encodeURIComponent(tr.dataset.job), { credentials: "same-origin" });
      if (!r.ok) throw new Error("HTTP " + r.status);
      const events = await r.json();
      list.replaceChildren(...events.map((e) => el("li", "",
        stamp(e.at) + "  " + e.action + " " + e.result + " by " + e.actor + (e.detail ? ": " + e.detail : ""))));
    } catch (err) {
      list.replaceChildren(el("li", "error", "history unavailable: " + err.message));
    }
  }

  // sync makes tbody's rows, keyed by data-KEY = id(item), those of items, in order.
  function sync(tbody, items, key, id, make, fill, empty) {
    const old = new Map();
    for (const tr of Array.from(tbody.rows)) {
      if (tr.dataset[key] === undefined) tr.remove(); else old.set(tr.dataset[key], tr);
    }
    for (const it of items) {
      let tr = old.get(id(it));
      if (tr) old.delete(tr.dataset[key]); else tr = make(it);
      fill(tr, it);
      tbody.append(tr); // moves an existing row into order
    }
    for (const tr of old.values()) tr.remove();
    if (items.length === 0 && empty) {
      const tr = el("tr", "none"); const td = el("td", "", empty);
      td.colSpan = tbody.parentElement.tHead.rows[0].cells.length;
      tr.append(td); tbody.append(tr);
    }
  }

  function switchRow(s) {
    const tr = el("tr");
    tr.dataset.switch = s.name;
    tr.append(el("td", "name", s.name), el("td", "driver"), el("td", "address"), el("td", "reachable"), el("td", "finding"));
    return tr;
  }

  function fillSwitch(tr, s) {
    set(tr.querySelector(".driver"), s.driver);
    set(tr.querySelector(".address"), s.address);
    const r = tr.querySelector(".reachable");
    r.dataset.reachable = s.reach;
    set(r, s.reach);
    set(tr.querySelector(".finding"), s.finding);
  }

  function render(st) {
    for (const site of st.sites) {
      const sec = main.querySelector('section.site[data-site="' + CSS.escape(site.name) + '"]');
      if (!sec) { location.reload(); return; } // the configuration changed
      set(sec.querySelector(".counts"), site.counts);
      for (const v of site.vlans) {
        const cell = sec.querySelector('.vlan[data-vid="' + v.vid + '"]');
        if (!cell) { location.reload(); return; }
        cell.dataset.state = v.state;
        cell.dataset.job = v.job || "";
        cell.title = cellTitle(v);
      }
      sync(sec.querySelector("table.leases tbody"), st.leases.filter((l) => l.sites.includes(site.name)),
        "job", (l) => l.job, leaseRow, fillLease, "no lease at this site");
      sync(sec.querySelector("table.switches tbody"), st.switches.filter((s) => s.site === site.name),
        "switch", (s) => s.name, switchRow, fillSwitch, "no switch at this site: its hosts are pre-provisioned");
      showSelected(sec);
    }
    set(document.getElementById("audit-at"), st.audit_at.startsWith("0001") ? "none yet" : stamp(st.audit_at));
  }

  function connected(ok, why) {
    const c = document.getElementById("conn");
    c.dataset.ok = String(ok);
    set(c, ok ? "" : "not updating: " + why);
  }

  async function poll() {
    try {
      const r = await fetch("/ui/status.json", { credentials: "same-origin", headers: etag ? { "If-None-Match": etag } : {} });
      if (r.status === 401) { location.reload(); return; } // the session ended: sign in again
      if (r.status !== 304) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        const st = await r.json();
        etag = r.headers.get("ETag") || "";
        render(st);
      }
      set(document.getElementById("at"), stamp(r.headers.get("Date") || new Date().toISOString()));
      connected(true);
    } catch (err) {
      connected(false, err.message);
    }
    setTimeout(poll, every);
  }

  // A selected cell says what it is and marks its lease's row, also as both change.
  function showSelected(sec) {
    const cell = sec.querySelector('.vlan[data-vid="' + sec.dataset.selected + '"]');
    if (!cell) return;
    set(sec.querySelector(".detail"), cell.title);
    for (const tr of sec.querySelectorAll("table.leases tr[data-job]")) {
      tr.classList.toggle("selected", cell.dataset.job !== "" && tr.dataset.job === cell.dataset.job);
    }
  }

  main.addEventListener("click", (ev) => {
    const cell = ev.target.closest(".vlan");
    if (!cell) return;
    const sec = cell.closest("section.site");
    sec.dataset.selected = cell.dataset.vid;
    showSelected(sec);
  });
  for (const d of main.querySelectorAll("table.leases details")) {
    d.addEventListener("toggle", () => { if (d.open) loadHistory(d.closest("tr")); });
  }
  setTimeout(poll, every);
})();
