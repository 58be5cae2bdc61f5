# Sourced by .ci/fast and .ci/run: installs the pinned check tools from the
# Go module proxy (the only registry these machines reach) into GOBIN, and
# builds govulncheck's database from the golang.org/x/vulndb module, since
# vuln.go.dev itself is not reachable here. Each step is skipped when its
# result is already there, so a second run costs nothing.
GOLANGCI_LINT_VERSION=v2.15.0
GOVULNCHECK_VERSION=v1.9.0
# The vulnerability reports as of this pseudo-version; bump it to learn of
# newer ones (go list -m -versions golang.org/x/vulndb shows what the proxy has).
VULNDB_VERSION=v0.0.0-20261105234957-e22db6528018

export PATH="$(go env GOPATH)/bin:$PATH"

install_tools() {
	if ! golangci-lint version 2>/dev/null | grep -q "${GOLANGCI_LINT_VERSION#v}"; then
		echo "installing golangci-lint $GOLANGCI_LINT_VERSION"
		GOWORK=off GOFLAGS= go install "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$GOLANGCI_LINT_VERSION"
	fi
	if ! govulncheck -version 2>/dev/null | grep -q "$GOVULNCHECK_VERSION"; then
		echo "installing govulncheck $GOVULNCHECK_VERSION"
		GOWORK=off GOFLAGS= go install "golang.org/x/vuln/cmd/govulncheck@$GOVULNCHECK_VERSION"
	fi
	VULNDB_DIR="$(go env GOCACHE)/alertstore-vulndb-$VULNDB_VERSION"
	if [ ! -f "$VULNDB_DIR/index/db.json" ]; then
		echo "building the vulnerability database from golang.org/x/vulndb@$VULNDB_VERSION"
		local src
		src=$(GOWORK=off GOFLAGS= go mod download -json "golang.org/x/vulndb@$VULNDB_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
		rm -rf "$VULNDB_DIR.tmp"
		GOWORK=off GOFLAGS= go run "golang.org/x/vulndb/cmd/indexdb@$VULNDB_VERSION" -vulns "$src/data/osv" -out "$VULNDB_DIR.tmp"
		mv "$VULNDB_DIR.tmp" "$VULNDB_DIR"
	fi
	export VULNDB_DIR
}
