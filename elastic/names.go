package elastic

import (
	"fmt"
	"strings"
)

// ValidateIndexName checks name against the rules both engines enforce for
// index, alias and template names, so a bad prefix or definition fails before
// anything is sent: lowercase; none of \ / * ? " < > | , # : or a space; not
// starting with - _ +; not . or ..; at most 255 bytes.
func ValidateIndexName(name string) error {
	bad := func(why string) error { return fmt.Errorf("%w %q: %s", ErrInvalidName, name, why) }
	switch {
	case name == "":
		return bad("empty")
	case name == "." || name == "..":
		return bad("must not be . or ..")
	case len(name) > 255:
		return bad(fmt.Sprintf("%d bytes, at most 255", len(name)))
	case strings.ToLower(name) != name:
		return bad("must be lowercase")
	case strings.ContainsAny(name[:1], "-_+"):
		return bad("must not start with -, _ or +")
	}
	if i := strings.IndexAny(name, "\\/*?\"<>| ,#:"); i >= 0 {
		return bad(fmt.Sprintf("must not contain %q", name[i]))
	}
	return nil
}
