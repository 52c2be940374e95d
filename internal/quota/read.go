package quota

// Read reports the limits and usage of the Maildir at dir for a reader
// that must not change anything (the webmail's quota display): the
// maildirsize file's definition and totals when the file can be trusted,
// otherwise no limits (known=false) and a count of the Maildir. Unlike
// Check it never writes the file: only a delivery, which knows the
// configured limits, may decide its first line [Maildir++].
func Read(dir string) (lim Limits, u Usage, known bool, err error) {
	root, err := maildirRoot(dir)
	if err != nil {
		return Limits{}, Usage{}, false, err
	}
	fc, _, trusted, err := readFile(root)
	if err != nil {
		return Limits{}, Usage{}, false, err
	}
	if trusted {
		return fc.Limits, fc.Usage, true, nil
	}
	u, _, err = count(root)
	return Limits{}, u, false, err
}
