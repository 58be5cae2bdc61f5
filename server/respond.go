package server

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/apt-detection/alertstore/backend"
	"github.com/apt-detection/alertstore/internal/wire"
)

// writeJSON answers v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, wire.CodeInternal, "encoding the answer: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// writeError answers {"error":{"code":...,"message":...}}.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, wire.ErrorBody{Error: wire.ErrorInfo{Code: code, Message: msg}})
}

// writeStoreError answers an error of the store with the status and code
// of its sentinel (wire.CodeOf).
func writeStoreError(w http.ResponseWriter, err error) {
	status, code := wire.CodeOf(err)
	writeError(w, status, code, errMessage(err))
}

// errMessage is err's text without the "alertstore: scheme: op:" the
// Store adds, which says nothing to an HTTP caller.
func errMessage(err error) string {
	var be *backend.Error
	if errors.As(err, &be) {
		return be.Err.Error()
	}
	return err.Error()
}

// rawAlerts turns alerts into their stored JSON, members in order.
func rawAlerts(as []*backend.Alert) []json.RawMessage {
	out := make([]json.RawMessage, len(as))
	for i, a := range as {
		b, _ := a.MarshalJSON()
		out[i] = b
	}
	return out
}
