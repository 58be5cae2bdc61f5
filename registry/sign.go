package registry

import (
	"fmt"
	"io/fs"
	"log/slog"
	"os"

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
	if st, err := os.Stat(path); err == nil {
		warnKeyFileOpenToOthers(d.Scheme(), SignKeyParam, path, st.Mode())
	}
	return k, nil
}

// securityAttr is the attribute key of security warnings: the command
// prints every record carrying it on stderr and lists it in `status`
// (cmd/alertstore's securityLog; the Redis backends use the same key,
// redisconf.SecurityAttr).
const securityAttr = "security"

// keyFileOpenToOthers is the value of securityAttr on the warning about
// a key file that group or others may read.
const keyFileOpenToOthers = "key_file_mode"

// warnKeyFileOpenToOthers logs a warning, through log/slog's default
// logger, when mode lets the file's group or others read (or write) a
// secret file named by param: anybody who can read a signing key can
// forge signed alerts. Every open of such a DSN warns again, until the
// mode is fixed. It names the file and its mode, never its content.
func warnKeyFileOpenToOthers(scheme, param, path string, mode fs.FileMode) {
	if mode.Perm()&0o077 == 0 {
		return
	}
	slog.Warn(fmt.Sprintf("alertstore: %s %s has mode %04o: users other than its owner can read it (and forge what it protects); chmod 600 it",
		param, path, mode.Perm()), securityAttr, keyFileOpenToOthers, "scheme", scheme, "param", param)
}
