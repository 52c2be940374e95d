package authd

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// mailbox is whose mailbox a successful POP3 login opens.
type mailbox struct {
	user     string // for the session's USER
	uid, gid int
	home     string
	maildir  string
}

// startSession starts `SessionProgram -session MAILDIR` as the mailbox
// owner with one end of a stream socketpair on fd 3 and returns the other
// end for goqmail-pop3d. The session never runs as root (notqmail's
// qmail-pop3d refuses root too); without root the service can only start
// sessions as itself (single-user mode).
func (s *Server) startSession(mb mailbox) (*os.File, error) {
	env := []string{"PATH=/usr/bin:/bin", "USER=" + mb.user, "HOME=" + mb.home}
	return s.startAs(mb, "mailbox session", s.cfg.SessionProgram, []string{"-session", mb.maildir}, env)
}

// startAs starts program as the mailbox owner mb with one end of a stream
// socketpair on fd 3 and returns the other end. It refuses root owners,
// and without root any owner but the service's own uid.
func (s *Server) startAs(mb mailbox, what, program string, args, env []string) (*os.File, error) {
	if mb.uid == 0 {
		return nil, fmt.Errorf("mailbox of %s belongs to root: refused", mb.user)
	}
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		cred = &syscall.Credential{Uid: uint32(mb.uid), Gid: uint32(mb.gid), Groups: []uint32{uint32(mb.gid)}}
	} else if mb.uid != os.Getuid() {
		return nil, fmt.Errorf("mailbox of %s belongs to uid %d; only root can start its session", mb.user, mb.uid)
	}
	return s.spawn(what+" for "+mb.user, program, args, env, cred)
}

// spawn starts program (with cred, nil = as the service itself) with one
// end of a stream socketpair on fd 3 and returns the other end.
func (s *Server) spawn(what, program string, args, env []string, cred *syscall.Credential) (*os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socketpair: %w", err)
	}
	ours := os.NewFile(uintptr(fds[0]), "session")
	theirs := os.NewFile(uintptr(fds[1]), "session-child")
	defer theirs.Close()
	cmd := exec.Command(program, args...)
	cmd.Env = env
	cmd.Dir = "/"
	cmd.ExtraFiles = []*os.File{theirs}
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if err := cmd.Start(); err != nil {
		ours.Close()
		return nil, fmt.Errorf("start %s: %w", what, err)
	}
	go func() {
		if err := cmd.Wait(); err != nil {
			s.cfg.Log.Printf("warning: %s (pid %d): %v", what, cmd.Process.Pid, err)
		}
	}()
	return ours, nil
}
