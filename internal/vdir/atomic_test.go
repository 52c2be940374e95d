package vdir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestOtherInstanceSeesChanges: a running server (another Files, as in
// another process) sees every change at its next lookup.
func TestOtherInstanceSeesChanges(t *testing.T) {
	admin, root := newFiles(t)
	server := OpenFiles(filepath.Join(root, "vdir"), filepath.Join(root, "vmail"), os.Getuid(), os.Getgid())
	if r, _ := server.Resolve("bob", "example.com"); r.Kind != NoSuch {
		t.Fatalf("before: %+v", r)
	}
	standardDomain(t, admin)
	if r, _ := server.Resolve("bob", "example.com"); r.Kind != Mailbox || r.Quota != 1000 {
		t.Fatalf("after add: %+v", r)
	}
	must(t, admin.SetQuota("bob", "example.com", 2000, 0))
	if r, _ := server.Resolve("bob", "example.com"); r.Quota != 2000 {
		t.Errorf("after quota change: %+v", r)
	}
	must(t, admin.SetPassword("bob", "example.com", "new"))
	if _, ok, _ := server.Authenticate("bob@example.com", "new"); !ok {
		t.Error("new password not seen")
	}
	must(t, admin.DeleteUser("bob", "example.com"))
	if r, _ := server.Resolve("bob", "example.com"); r.Kind != NoSuch {
		t.Errorf("after delete: %+v", r)
	}
	// A hand edit of the same size within the same second is seen too:
	// the key includes the inode and nanosecond times.
	p := filepath.Join(root, "vdir", "example.com", "aliases")
	before := readFile(t, p)
	must(t, os.WriteFile(p, []byte(strings.Replace(before, "info:", "infx:", 1)), 0o644))
	if r, _ := server.Resolve("infx", "example.com"); r.Kind != Forward {
		t.Errorf("hand edit not seen: %+v", r)
	}
}

// TestConcurrentChanges runs writers (adding, re-passwording, changing
// quotas of, and deleting users, and turning names from users into
// aliases and back) against readers in another Files instance. Every
// read must see a complete table: no errors, a user either fully there
// (index line, password, login works) or not at all, never a user and
// an alias of one name. Run with -race.
func TestConcurrentChanges(t *testing.T) {
	admin, root := newFiles(t)
	must(t, admin.AddDomain(Domain{Name: "example.com"}))
	reader := OpenFiles(filepath.Join(root, "vdir"), filepath.Join(root, "vmail"), os.Getuid(), os.Getgid())
	reader.cost = 4
	const names = 4
	var stop atomic.Bool
	var cycles atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, 100)
	report := func(err error) {
		select {
		case errc <- err:
		default:
		}
	}
	for w := 0; w < names; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			l := fmt.Sprintf("u%d", w)
			for i := 0; !stop.Load(); i++ {
				steps := []func() error{
					func() error {
						return admin.AddUser(User{Local: l, Domain: "example.com", QuotaBytes: int64(i + 1)}, "pw-"+l)
					},
					func() error { return admin.SetQuota(l, "example.com", int64(i+1000), 3) },
					func() error { return admin.SetPassword(l, "example.com", "pw-"+l) },
					func() error { return admin.DeleteUser(l, "example.com") },
					func() error {
						return admin.SetAlias(Alias{Local: l, Domain: "example.com", Targets: []string{"x@y.org"}})
					},
					func() error { return admin.DeleteAlias(l, "example.com") },
				}
				for _, s := range steps {
					if err := s(); err != nil {
						report(fmt.Errorf("writer %s: %w", l, err))
						return
					}
				}
				cycles.Add(1)
			}
		}(w)
	}
	var reads atomic.Int64
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				us, err := reader.Users("example.com")
				if err != nil {
					report(err)
					return
				}
				for _, u := range us {
					if u.Hash == "" {
						report(fmt.Errorf("user %s listed without a password", u.Local))
					}
				}
				// One snapshot: never a user and an alias of one name.
				snap, err := reader.load("example.com", true)
				if err != nil {
					report(err)
					return
				}
				for l := range snap.aliases {
					if _, ok := snap.boxes[l]; ok {
						report(fmt.Errorf("%s is a user and an alias in one read", l))
					}
				}
				for l := range snap.boxes {
					if snap.hashes[l] == "" {
						report(fmt.Errorf("user %s indexed without a password", l))
					}
				}
				l := fmt.Sprintf("u%d", reads.Add(1)%names)
				res, err := reader.Resolve(l, "example.com")
				if err != nil {
					report(err)
					return
				}
				u, ok, err := reader.Authenticate(l+"@example.com", "pw-"+l)
				if err != nil {
					report(err)
					return
				}
				if ok && (u.QuotaBytes == 0 || u.Hash == "") {
					report(fmt.Errorf("half a user: %+v", u))
				}
				if res.Kind == Mailbox && res.Local != l {
					report(fmt.Errorf("resolve %s: %+v", l, res))
				}
			}
		}()
	}
	// Run for a second, longer on a loaded machine (or -race) until
	// every writer went round twice and the readers read a good deal.
	start := time.Now()
	for time.Since(start) < time.Second || (cycles.Load() < 2*names || reads.Load() < 200) && time.Since(start) < 10*time.Second {
		time.Sleep(50 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	if cycles.Load() < 2*names || reads.Load() < 200 {
		t.Errorf("only %d writer cycles and %d reads", cycles.Load(), reads.Load())
	}
}

// TestAddDomainFailsCleanly: when the last step of adding a domain (the
// rename into place) fails, nothing of it is left: no domain, no
// temporary directory, no mailbox directory.
func TestAddDomainFailsCleanly(t *testing.T) {
	f, root := newFiles(t)
	f.rename = func(string, string) error { return errors.New("disk on fire") }
	err := f.AddDomain(Domain{Name: "example.com"})
	if err == nil || !strings.Contains(err.Error(), "add domain example.com: disk on fire") {
		t.Fatalf("AddDomain = %v", err)
	}
	if ok, _ := f.IsDomain("example.com"); ok {
		t.Error("domain exists after a failed add")
	}
	for _, dir := range []string{"vdir", "vmail"} {
		ents, _ := os.ReadDir(filepath.Join(root, dir))
		for _, e := range ents {
			if e.Name() != ".lock" {
				t.Errorf("left behind: %s/%s", dir, e.Name())
			}
		}
	}
	f.rename = os.Rename
	must(t, f.AddDomain(Domain{Name: "example.com"}))
}

// TestAddDomainMailDirFails: a failure before the rename leaves nothing
// either (here ROOT/vmail is a file, so no mailbox directory can be made).
func TestAddDomainMailDirFails(t *testing.T) {
	f, root := newFiles(t)
	must(t, os.WriteFile(filepath.Join(root, "vmail"), nil, 0o644))
	if err := f.AddDomain(Domain{Name: "example.com"}); err == nil {
		t.Fatal("no error")
	}
	ents, _ := os.ReadDir(filepath.Join(root, "vdir"))
	for _, e := range ents {
		if e.Name() != ".lock" {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

// TestLoadRetriesAfterChange: a change between reading one file and the
// next makes load start over, so a user turned into an alias meanwhile
// is seen as one or the other, never both.
func TestLoadRetriesAfterChange(t *testing.T) {
	admin, root := newFiles(t)
	standardDomain(t, admin)
	reader := OpenFiles(filepath.Join(root, "vdir"), filepath.Join(root, "vmail"), os.Getuid(), os.Getgid())
	changed := false
	reader.afterRead = func(name string) {
		if name == fileMailboxes && !changed {
			changed = true
			must(t, admin.DeleteUser("alice", "example.com"))
			must(t, admin.SetAlias(Alias{Local: "alice", Domain: "example.com", Targets: []string{"bob"}}))
		}
	}
	s, err := reader.load("example.com", false)
	must(t, err)
	if !changed {
		t.Fatal("hook did not run")
	}
	_, isUser := s.boxes["alice"]
	_, isAlias := s.aliases["alice"]
	if isUser || !isAlias {
		t.Errorf("after the change: user %v, alias %v; want only the alias", isUser, isAlias)
	}
}
