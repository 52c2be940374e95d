package supervise

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// auto chooses the journal only when standard error is the very stream
// JOURNAL_STREAM names; INVOCATION_ID alone does not.
func TestLogDestAuto(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var st syscall.Stat_t
	syscall.Fstat(int(f.Fd()), &st)
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	same := fmt.Sprintf("%d:%d", st.Dev, st.Ino)
	other := fmt.Sprintf("%d:%d", st.Dev, st.Ino+1)
	for _, tc := range []struct {
		setting string
		env     map[string]string
		want    string
	}{
		{"auto", map[string]string{"JOURNAL_STREAM": same}, "journal"},
		{"auto", map[string]string{"JOURNAL_STREAM": other}, ""},
		{"auto", map[string]string{"INVOCATION_ID": "0123"}, ""},
		{"auto", nil, ""},
		{"stderr", map[string]string{"JOURNAL_STREAM": same}, ""},
		{"files", nil, "files"},
		{"journal", nil, "journal"},
		{"syslog", nil, "syslog"},
	} {
		if got := LogDest(tc.setting, env(tc.env), f); got != tc.want {
			t.Errorf("LogDest(%s, %v) = %q, want %q", tc.setting, tc.env, got, tc.want)
		}
	}
}

// goqmaild's own lines never wait for the log writer: when its pipe is
// full they go to its standard error, whole.
func TestSelfWriterFallsBackWhenThePipeIsFull(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	var fallback bytes.Buffer
	fb, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	sw := &selfWriter{w: w, fallback: fb}
	line := bytes.Repeat([]byte("x"), 1023)
	line = append(line, '\n')
	sent := 0
	for i := 0; i < 2000; i++ { // far more than a pipe holds
		if n, err := sw.Write(line); n != len(line) || err != nil {
			t.Fatalf("Write: %d %v", n, err)
		}
		sent++
	}
	fb.Close()
	b, _ := os.ReadFile(fb.Name())
	fallback.Write(b)
	if fallback.Len() == 0 || fallback.Len()%len(line) != 0 {
		t.Fatalf("fallback holds %d bytes, want whole lines and some", fallback.Len())
	}
	w.Close()
	var piped bytes.Buffer
	piped.ReadFrom(r)
	if piped.Len()+fallback.Len() != sent*len(line) {
		t.Errorf("pipe %d + fallback %d bytes, sent %d", piped.Len(), fallback.Len(), sent*len(line))
	}
}
