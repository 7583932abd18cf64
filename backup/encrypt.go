package backup

import (
	"fmt"
	"io"
	"os"
	"strings"

	"filippo.io/age"
)

// ParseRecipients parses age recipients ("age1..."), one or more separated by commas or spaces.
func ParseRecipients(s string) ([]age.Recipient, error) {
	rs, err := age.ParseRecipients(strings.NewReader(strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\n'
	}), "\n")))
	if err != nil {
		return nil, fmt.Errorf("age recipient: %w", err)
	}
	return rs, nil
}

// ReadIdentities reads an age identity file (the output of age-keygen).
func ReadIdentities(path string) ([]age.Identity, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("age identity file: %w", err)
	}
	defer f.Close()
	ids, err := age.ParseIdentities(f)
	if err != nil {
		return nil, fmt.Errorf("age identity file %s: %w", path, err)
	}
	return ids, nil
}

// encryptStream returns a reader of r encrypted to recipients; age works in 64 KiB chunks, so memory
// stays flat. The returned reader fails with r's error if r fails; closing it stops the encrypting goroutine.
func encryptStream(r io.Reader, recipients []age.Recipient) io.ReadCloser {
	pr, pw := io.Pipe()
	go func() {
		w, err := age.Encrypt(pw, recipients...)
		if err != nil {
			pw.CloseWithError(fmt.Errorf("age encrypt: %w", err))
			return
		}
		if _, err := io.Copy(w, r); err != nil {
			pw.CloseWithError(err)
			return
		}
		pw.CloseWithError(w.Close())
	}()
	return pr
}

// openPayload wraps the stored object in a decrypter when the manifest says it is encrypted.
func openPayload(r io.Reader, m Manifest, ids []age.Identity) (io.Reader, error) {
	if m.Encryption != encAge {
		return r, nil
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("backup %s: %w (it was encrypted to %s)", m.ID, ErrEncrypted, strings.Join(m.Recipients, ", "))
	}
	d, err := age.Decrypt(r, ids...)
	if err != nil {
		return nil, fmt.Errorf("backup %s: age decrypt: %w", m.ID, err)
	}
	return d, nil
}

func recipientStrings(rs []age.Recipient) []string {
	out := []string{}
	for _, r := range rs {
		if s, ok := r.(fmt.Stringer); ok {
			out = append(out, s.String())
		}
	}
	return out
}
