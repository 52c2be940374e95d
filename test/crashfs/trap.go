package crashfs

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// syncfs(2) and sync(2) never reach a FUSE server on this kernel: the
// kernel sends FUSE_SYNCFS only to virtiofs (fc->sync_fs), and go-fuse
// would not handle it anyway. A program in syncfs mode would then make
// nothing durable in the model, which is true of a FUSE file system but
// says nothing about ext4. So the harness traps the two calls with a
// seccomp filter that hands them to us (SECCOMP_RET_USER_NOTIF): the
// programs are started through a wrapper (this same executable, see
// RunWrapper) that installs the filter, which every child inherits, and
// passes us the listener. A syncfs of a file on the mount makes everything
// durable before the caller continues; a sync(2) does the same and then
// runs for the other file systems; a syncfs elsewhere just runs.
// sync_file_range(2) is left alone: it only starts page-cache write-back
// and promises nothing durable, and FUSE never sees it.

const wrapEnv = "CRASHFS_TRAP_FD"

// RunWrapper must be called first thing in main (and TestMain) of any
// program that uses FS.Start. In the process Start runs as the wrapper it
// installs the filter and executes the real program, never returning;
// anywhere else it returns at once.
func RunWrapper() {
	fdText := os.Getenv(wrapEnv)
	if fdText == "" {
		return
	}
	fd, err := strconv.Atoi(fdText)
	if err != nil || len(os.Args) < 3 {
		fmt.Fprintf(os.Stderr, "crashfs wrapper: bad invocation (%s=%q, %d arguments)\n", wrapEnv, fdText, len(os.Args))
		os.Exit(111)
	}
	// The filter goes on this thread only (no TSYNC, which cannot be
	// combined with a listener), the one that then calls execve.
	runtime.LockOSThread()
	fail := func(err error) {
		unix.Write(fd, []byte(err.Error()))
		os.Exit(111)
	}
	listener, err := installFilter()
	if err != nil {
		fail(err)
	}
	if err := unix.Sendmsg(fd, []byte("ok"), unix.UnixRights(listener), nil, 0); err != nil {
		fail(fmt.Errorf("pass the seccomp listener: %w", err))
	}
	unix.Close(listener)
	unix.Close(fd)
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, wrapEnv+"=") {
			env = append(env, e)
		}
	}
	err = syscall.Exec(os.Args[1], os.Args[2:], env)
	fmt.Fprintf(os.Stderr, "crashfs wrapper: exec %s: %v\n", os.Args[1], err)
	os.Exit(111)
}

// Start starts cmd with its syncfs(2) and sync(2) calls, and those of every
// process it starts, trapped for f (see above). The trap ends by itself
// when the last of those processes has exited. It needs root.
func (f *FS) Start(cmd *exec.Cmd) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("crashfs: find own executable for the wrapper: %w", err)
	}
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("crashfs: socketpair: %w", err)
	}
	ours, theirs := os.NewFile(uintptr(pair[0]), "crashfs-trap"), os.NewFile(uintptr(pair[1]), "crashfs-trap-child")
	defer ours.Close()
	path := cmd.Path
	if cmd.Err != nil {
		theirs.Close()
		return cmd.Err
	}
	cmd.Path = self
	cmd.Args = append([]string{"crashfs-wrapper", path}, cmd.Args...)
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, wrapEnv+"="+strconv.Itoa(3+len(cmd.ExtraFiles)))
	cmd.ExtraFiles = append(cmd.ExtraFiles, theirs)
	err = cmd.Start()
	theirs.Close()
	if err != nil {
		return err
	}
	listener, err := receiveListener(ours)
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return fmt.Errorf("crashfs: %s: %w", path, err)
	}
	go f.serveTrap(listener)
	return nil
}

func receiveListener(sock *os.File) (int, error) {
	conn, err := net.FileConn(sock)
	if err != nil {
		return -1, err
	}
	defer conn.Close()
	uc := conn.(*net.UnixConn)
	uc.SetReadDeadline(time.Now().Add(30 * time.Second))
	buf, oob := make([]byte, 512), make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := uc.ReadMsgUnix(buf, oob)
	if err != nil {
		return -1, fmt.Errorf("wrapper did not report: %w", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return -1, fmt.Errorf("wrapper: %s", buf[:n])
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return -1, fmt.Errorf("wrapper sent no listener: %s", buf[:n])
	}
	return fds[0], nil
}

// The kernel's structures (linux/seccomp.h).
type seccompData struct {
	Nr   int32
	Arch uint32
	IP   uint64
	Args [6]uint64
}

type seccompNotif struct {
	ID    uint64
	Pid   uint32
	Flags uint32
	Data  seccompData
}

type seccompResp struct {
	ID    uint64
	Val   int64
	Error int32
	Flags uint32
}

var auditArch = map[string]uint32{"amd64": unix.AUDIT_ARCH_X86_64, "arm64": unix.AUDIT_ARCH_AARCH64}

// installFilter installs "notify on syncfs and sync, allow the rest" and
// returns the listener.
func installFilter() (int, error) {
	arch, ok := auditArch[runtime.GOARCH]
	if !ok {
		return -1, fmt.Errorf("crashfs: no seccomp filter for %s", runtime.GOARCH)
	}
	const (
		ldAbs = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq   = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		ret   = unix.BPF_RET | unix.BPF_K
	)
	prog := []unix.SockFilter{
		{Code: ldAbs, K: 4},                // arch
		{Code: jeq, K: arch, Jt: 0, Jf: 3}, // another ABI: allow
		{Code: ldAbs, K: 0},                // syscall number
		{Code: jeq, K: unix.SYS_SYNCFS, Jt: 2, Jf: 0},
		{Code: jeq, K: unix.SYS_SYNC, Jt: 1, Jf: 0},
		{Code: ret, K: unix.SECCOMP_RET_ALLOW},
		{Code: ret, K: unix.SECCOMP_RET_USER_NOTIF},
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	fd, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_NEW_LISTENER, uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(prog)
	if errno != 0 {
		return -1, fmt.Errorf("crashfs: install seccomp filter: %w", errno)
	}
	return int(fd), nil
}

// serveTrap answers trapped calls until no process uses the filter.
func (f *FS) serveTrap(listener int) {
	defer unix.Close(listener)
	for {
		pfd := []unix.PollFd{{Fd: int32(listener), Events: unix.POLLIN}}
		n, err := unix.Poll(pfd, 1000)
		if err != nil && !errors.Is(err, unix.EINTR) {
			return
		}
		if n == 0 {
			continue
		}
		if pfd[0].Revents&unix.POLLIN == 0 && pfd[0].Revents&(unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) != 0 {
			return // every process with the filter has exited
		}
		var req seccompNotif
		if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(listener), unix.SECCOMP_IOCTL_NOTIF_RECV, uintptr(unsafe.Pointer(&req))); errno != 0 {
			if errno == unix.EINTR || errno == unix.ENOENT {
				continue // the caller died meanwhile
			}
			return
		}
		resp := f.trapped(listener, &req)
		unix.Syscall(unix.SYS_IOCTL, uintptr(listener), unix.SECCOMP_IOCTL_NOTIF_SEND, uintptr(unsafe.Pointer(&resp)))
	}
}

// fdDev returns the device of the file system a process's descriptor is
// on, from /proc alone: its mount id in fdinfo, that mount's device in
// mountinfo. Never by stat(2), which would ask the file system itself, and
// a dead crashfs answers EIO (the trap must not take that for "another
// file system" and let the call succeed).
func fdDev(pid uint32, fd int32) (uint64, error) {
	info, err := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%d", pid, fd))
	if err != nil {
		return 0, err
	}
	var mnt string
	for _, line := range strings.Split(string(info), "\n") {
		if v, ok := strings.CutPrefix(line, "mnt_id:"); ok {
			mnt = strings.TrimSpace(v)
		}
	}
	mounts, err := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(mounts), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || f[0] != mnt {
			continue
		}
		major, minor, ok := strings.Cut(f[2], ":")
		ma, err1 := strconv.ParseUint(major, 10, 32)
		mi, err2 := strconv.ParseUint(minor, 10, 32)
		if !ok || err1 != nil || err2 != nil {
			return 0, fmt.Errorf("mountinfo: bad device %q", f[2])
		}
		return unix.Mkdev(uint32(ma), uint32(mi)), nil
	}
	return 0, fmt.Errorf("mount %q of fd %d of pid %d not in its mountinfo", mnt, fd, pid)
}

// trapped decides one call.
func (f *FS) trapped(listener int, req *seccompNotif) seccompResp {
	resp := seccompResp{ID: req.ID, Flags: unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE}
	switch req.Data.Nr {
	case unix.SYS_SYNC:
		f.syncfs("sync")
	case unix.SYS_SYNCFS:
		dev, err := fdDev(req.Pid, int32(req.Data.Args[0]))
		// The pid and fd are the caller's only while its call is still
		// pending: check after looking (seccomp_unotify(2)).
		id := req.ID
		if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(listener), unix.SECCOMP_IOCTL_NOTIF_ID_VALID, uintptr(unsafe.Pointer(&id))); errno != 0 {
			return resp
		}
		if err != nil || dev != f.dev {
			return resp // another file system, or a bad fd: let the kernel answer
		}
		resp.Flags = 0
		if !f.syncfs("syncfs") {
			resp.Error = -int32(unix.EIO)
		}
	}
	return resp
}
