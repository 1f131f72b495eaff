package leasesrv

import (
	_ "embed"
	"net/http"
)

// OpenAPI is the API's description, kept beside the handlers it describes;
// openapi_test.go fails when the two disagree.
//
//go:embed openapi.json
var OpenAPI []byte

// hOpenAPI serves the description without a token: it names no secret.
func hOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(OpenAPI) // a failed write means the client left
}
