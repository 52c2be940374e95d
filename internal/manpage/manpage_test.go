package manpage

import (
	"strings"
	"testing"
)

func TestRender(t *testing.T) {
	got := Render(Page{Name: "goqmail-x", Section: "8", Summary: "do x", Help: "usage: goqmail x\n.dot at start\n'quote\nback\\slash -flag\n",
		SeeAlso: []string{"goqmail(8)", "goqmaild(8)"}})
	for _, want := range []string{
		".TH GOQMAIL\\-X 8 \"\" goqmail \"goqmail manual\"\n",
		"goqmail\\-x \\- do x\n",
		".nf\nusage: goqmail x\n\\&.dot at start\n\\&'quote\nback\\eslash \\-flag\n.fi\n",
		".BR goqmail (8) ,\n.BR goqmaild (8)\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
}
