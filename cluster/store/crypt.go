package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode"

	"joren/internal/atomicfile"
)

// KeySize is the size of a store key: AES-256.
const KeySize = 32

// Cipher names the encryption of an encrypted store's values (Meta.Cipher).
const Cipher = "aes-256-gcm"

// Sealed values are: the envelope version, a random nonce, then the
// ciphertext and its tag. The nonce is random because a store key lives for
// years across processes with no durable counter; at the rate a door
// camera writes (thousands of values a day) the chance of a repeated
// 96-bit nonce stays far below AES-GCM's 2^-32 bound for a lifetime of
// writes.
const (
	sealVersion = 0xE1
	nonceSize   = 12
	sealOver    = 1 + nonceSize + 16
)

// nameSize is the length of a keyed-hash record name: 128 bits make
// collisions between the names of one store impossible in practice.
const nameSize = 16

// Key is a store key: it seals record values with AES-256-GCM and names
// records whose natural keys would tell something (staff names, visit
// times) with a keyed hash. Both are derived from the 32 bytes of the key
// file, so one file is all there is to keep.
type Key struct {
	aead  cipher.AEAD
	names []byte
	id    string
}

// ID is a fingerprint of the key, recorded in the store so that a wrong
// key is told apart from a damaged record. It reveals nothing of the key.
func (k *Key) ID() string { return k.id }

// NewKey makes a Key from its 32 bytes.
func NewKey(secret []byte) (*Key, error) {
	if len(secret) != KeySize {
		return nil, fmt.Errorf("a store key has %d bytes, not %d", KeySize, len(secret))
	}
	derive := func(info string) []byte {
		b, err := hkdf.Key(sha256.New, secret, nil, info, 32)
		if err != nil {
			panic(err) // only for lengths hkdf cannot give
		}
		return b
	}
	block, err := aes.NewCipher(derive("joren/store/v1/seal"))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Key{aead: aead, names: derive("joren/store/v1/names"), id: hex.EncodeToString(derive("joren/store/v1/key-id")[:8])}, nil
}

// KeyError says what is wrong with a key file.
type KeyError struct {
	Path string
	// Missing: the file does not exist.
	Missing bool
	Err     error
}

func (e *KeyError) Error() string {
	if e.Missing {
		return fmt.Sprintf("key file %s is missing", e.Path)
	}
	return fmt.Sprintf("key file %s: %v", e.Path, e.Err)
}

func (e *KeyError) Unwrap() error { return e.Err }

// LoadKey reads a key file: 64 hexadecimal digits (a line).
func LoadKey(path string) (*Key, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &KeyError{Path: path, Missing: true, Err: err}
	}
	if err != nil {
		return nil, &KeyError{Path: path, Err: err}
	}
	text := strings.TrimRightFunc(string(b), unicode.IsSpace)
	secret, err := hex.DecodeString(text)
	if err != nil || len(secret) != KeySize {
		// Never echo the content: it may be a key of something else.
		return nil, &KeyError{Path: path, Err: fmt.Errorf("not a store key (want %d hexadecimal digits, the file has %d bytes)", 2*KeySize, len(b))}
	}
	return NewKey(secret)
}

// LoadOrCreateKey reads the key file, or makes one (mode 0600) if there is
// none and its directory exists. A missing directory is an error, not a
// reason to create it: the key belongs on another partition than the
// store, and a missing directory usually means the partition or
// service that provides it is not there. created tells whether the file was made now.
func LoadOrCreateKey(path string) (k *Key, created bool, err error) {
	k, err = LoadKey(path)
	var ke *KeyError
	if !errors.As(err, &ke) || !ke.Missing {
		return k, false, err
	}
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, false, &KeyError{Path: path, Err: fmt.Errorf("cannot create it: directory %s does not exist (the key is kept outside the data partition, and a missing place is never made here: on the image joren-provision makes it at boot; elsewhere create the directory, or give another key file)", dir)}
	}
	secret := make([]byte, KeySize)
	rand.Read(secret) // never fails (crypto/rand)
	text := hex.EncodeToString(secret) + "\n"
	// Atomically, so that a power cut never leaves half a key under the
	// real name; never replacing a key another process wrote meanwhile.
	err = atomicfile.Create(path, []byte(text), 0o600)
	if errors.Is(err, fs.ErrExist) {
		k, err := LoadKey(path)
		return k, false, err
	}
	if err != nil {
		return nil, false, &KeyError{Path: path, Err: fmt.Errorf("creating: %w", err)}
	}
	k, err = NewKey(secret)
	return k, err == nil, err
}

// syncDir makes a rename in dir durable (best effort: some file systems,
// such as FAT, cannot sync a directory, and their renames are what they
// are).
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// name is the stored key of a record whose natural key is logical.
func (k *Key) name(bucket []byte, logical []byte) []byte {
	m := hmac.New(sha256.New, k.names)
	m.Write(bucket)
	m.Write([]byte{0})
	m.Write(logical)
	return m.Sum(nil)[:nameSize]
}

// ad binds a sealed value to its place: a value moved to another key or
// bucket does not open.
func ad(bucket, key []byte) []byte {
	a := make([]byte, 0, 16+len(bucket)+len(key))
	a = append(a, "joren-store-v1"...)
	a = append(a, 0)
	a = append(a, bucket...)
	a = append(a, 0)
	return append(a, key...)
}

func (k *Key) seal(bucket, key, plain []byte) []byte {
	out := make([]byte, 1+nonceSize, sealOver+len(plain))
	out[0] = sealVersion
	rand.Read(out[1:])
	return k.aead.Seal(out, out[1:1+nonceSize], plain, ad(bucket, key))
}

var errAuth = errors.New("fails authentication")

func (k *Key) open(bucket, key, sealed []byte) ([]byte, error) {
	if len(sealed) < sealOver || sealed[0] != sealVersion {
		return nil, errAuth
	}
	plain, err := k.aead.Open(nil, sealed[1:1+nonceSize], sealed[1+nonceSize:], ad(bucket, key))
	if err != nil {
		return nil, errAuth
	}
	return plain, nil
}

// AuthError says a record of an encrypted store does not open with the
// store's key: the file was damaged, or changed by someone without the
// key (a flipped byte, records swapped or moved).
type AuthError struct {
	Dir    string
	Bucket string
	Key    string
}

func (e *AuthError) Error() string {
	return fmt.Sprintf("identity store %s: record %s/%s fails authentication: the file was damaged or tampered with (run `joren store check`; restore a backup or start a new store)", e.Dir, e.Bucket, e.Key)
}

// printable shows a stored key: ids as they are, hashed names in hex.
func printable(k []byte) string {
	for _, c := range k {
		if c < 0x20 || c > 0x7e {
			return hex.EncodeToString(k)
		}
	}
	return string(k)
}

// EncryptedError says an encrypted store cannot be opened with the key
// given (or without one).
type EncryptedError struct {
	Dir     string
	KeyFile string
	// Reason: "no key file given", "missing", "wrong key", or what is wrong
	// with the file.
	Reason string
}

func (e *EncryptedError) Error() string {
	head := fmt.Sprintf("the store at %s is encrypted", e.Dir)
	switch e.Reason {
	case "no key file given":
		return head + ": give its key file (--key-file or JOREN_STORE_KEY_FILE; on the device, store.key_file, /run/joren/store.key by default)"
	case "missing":
		return fmt.Sprintf("%s; key file %s is missing (restore it from its backup: without it nothing in the store can be read)", head, e.KeyFile)
	case "wrong key":
		return fmt.Sprintf("%s; key file %s is not the key it was encrypted with", head, e.KeyFile)
	}
	return fmt.Sprintf("%s; key file %s: %s", head, e.KeyFile, e.Reason)
}
