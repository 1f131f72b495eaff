package config

import "testing"

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"redis://:s3cret@127.0.0.1:6379/0":  "redis://:xxxxx@127.0.0.1:6379/0",
		"http://u:s3cret@h:1/v1":            "http://u:xxxxx@h:1/v1",
		"redis://:s3cret@127.0.0.1:63x79/0": "redis://:xxxxx@127.0.0.1:63x79/0", // bad port: url.Parse fails
		"redis://u:s3%zzcret@host/0":        "redis://u:xxxxx@host/0",           // bad escape inside the password
		"redis://u:p@ss:w@rd@host:1":        "redis://u:xxxxx@host:1",
		"http://127.0.0.1:7480":             "http://127.0.0.1:7480",
		"unix:///run/redis.sock":            "unix:///run/redis.sock",
		"127.0.0.1:%zz":                     "127.0.0.1:%zz",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}
