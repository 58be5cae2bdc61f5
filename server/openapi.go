package server

import (
	_ "embed"
	"net/http"
)

// openapiDoc is the OpenAPI 3 document of the API; TestOpenAPIMatchesRoutes
// keeps it and the route table the same.
//
//go:embed openapi.json
var openapiDoc []byte

func (s *Server) openapi(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openapiDoc)
}
