package registry

import (
	"github.com/apt-detection/alertstore/backend"
)

// SignKeyParam is the DSN parameter naming the signing key file, which
// every scheme takes: the Store signs and verifies, not the driver (see
// backend.Keyring), so it is read here, once, for every backend.
const SignKeyParam = "sign_key_file"

// signKeys consumes sign_key_file and loads the keyring it names. A DSN
// opened as a bare driver (a chain's tier, a conformance harness) has no
// Store to sign with, so the parameter is refused there instead of being
// silently ignored.
func (d *DSN) signKeys(forStore bool) (*backend.Keyring, error) {
	if !d.Has(SignKeyParam) {
		return nil, nil
	}
	path, err := d.Param(SignKeyParam, "")
	if err != nil {
		return nil, err
	}
	if !forStore {
		return nil, d.Errorf("%s applies to a whole store: set it on the outermost DSN (a chain's, not a tier's)", SignKeyParam)
	}
	if path == "" {
		return nil, d.Errorf("%s is empty", SignKeyParam)
	}
	k, err := backend.LoadKeyring(path)
	if err != nil {
		return nil, d.Errorf("%v", trimSentinel(err))
	}
	return k, nil
}
