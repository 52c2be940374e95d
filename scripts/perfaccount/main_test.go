package main

import (
	"strings"
	"testing"
)

// A trimmed `perf script` output: three samples of two programs and one of
// another process.
const sample = `goqmail-local  4242 [001]  9009.885167:     250000 cpu-clock:ppp: 
	ffffffff8184b091 ext4_sync_file+0x331 ([kernel.kallsyms])
	ffffffff8184b82e __x64_sys_fsync+0x1e ([kernel.kallsyms])
	ffffffff822f6f71 do_syscall_64+0x71 ([kernel.kallsyms])
	ffffffff81000130 entry_SYSCALL_64_after_hwframe+0x76 ([kernel.kallsyms])
	           89f17 internal/runtime/syscall/linux.Syscall6+0x37 (/bin/goqmail-local)
	           5b2f2 syscall.Fsync+0x22 (/bin/goqmail-local)

goqmail-smtpd 24635 [000]  9009.885379:     250000 cpu-clock:ppp: 
	ffffffff82302a65 _copy_to_iter+0x25 ([kernel.kallsyms])
	ffffffff82302a65 tcp_recvmsg+0x25 ([kernel.kallsyms])
	ffffffff82302a65 sock_read_iter+0x25 ([kernel.kallsyms])
	ffffffff82302a65 vfs_read+0x25 ([kernel.kallsyms])
	ffffffff82302a65 ksys_read+0x25 ([kernel.kallsyms])
	ffffffff822f6f71 do_syscall_64+0x71 ([kernel.kallsyms])
	           d69a5 syscall.read+0x5 (/bin/goqmail-smtpd)

goqmail-smtpd 24635 [000]  9009.885380:     250000 cpu-clock:ppp: 
	           5cb21 runtime.usleep+0x41 (/bin/goqmail-smtpd)
	           5c728 runtime.sysmon+0x388 (/bin/goqmail-smtpd)

kworker/1:1H-kb   123 [001]  9009.885390:     250000 cpu-clock:ppp: 
	ffffffff822fc8db iowrite16+0xb ([kernel.kallsyms])

`

// parsedSample is the account of sample.
func parsedSample(t *testing.T) *account {
	t.Helper()
	a := newAccount()
	if err := parse(strings.NewReader(sample), func(comm string, chain []frame) { a.add("goqmail", comm, chain) }); err != nil {
		t.Fatal(err)
	}
	return a
}

// tableHas prints a's table (with ms, if not nil) and checks that it holds
// every line of want.
func tableHas(t *testing.T, a *account, ms map[string]float64, want ...string) {
	t.Helper()
	var b strings.Builder
	a.table(&b, ms)
	for _, w := range want {
		if !strings.Contains(b.String(), w) {
			t.Errorf("table lacks %q:\n%s", w, b.String())
		}
	}
}

func TestParseAndTable(t *testing.T) {
	a := parsedSample(t)
	if a.all != 4 || a.total["goqmail-local"] != 1 || a.total["goqmail-smtpd"] != 2 {
		t.Fatalf("counted all %d, per program %v; want 4, local 1, smtpd 2", a.all, a.total)
	}
	if a.byProg["goqmail-local"][catSync] != 1 || a.byProg["goqmail-smtpd"][catSocket] != 1 || a.byProg["goqmail-smtpd"][catSysmon] != 1 {
		t.Errorf("categories %v", a.byProg)
	}
	tableHas(t, a, nil,
		"| % of each program's samples | goqmail-smtpd | goqmail-local | all |",
		"| "+catSync+" | 0.0 | 100.0 | 33.3 |",
		"| "+catSocket+" | 50.0 | 0.0 | 33.3 |",
		"| samples (share of the whole profile) | 2 (50.0%) | 1 (25.0%) | 3 (75.0%) |",
	)
}

func TestClassify(t *testing.T) {
	k := func(s ...string) []frame {
		var c []frame
		for _, x := range s {
			c = append(c, frame{sym: x, kernel: !strings.Contains(x, ".")})
		}
		return c
	}
	cases := []struct {
		chain []frame
		want  string
	}{
		// A write on a pipe or file, and one on a socket.
		{k("copy_page_from_iter", "pipe_write", "vfs_write", "ksys_write", "do_syscall_64", "syscall.write"), catFile},
		{k("tcp_sendmsg", "sock_write_iter", "vfs_write", "ksys_write", "do_syscall_64", "syscall.write"), catSocket},
		// Names: the handler is spelled in three ways.
		{k("ext4_rename", "__x64_sys_renameat2", "do_syscall_64"), catNames},
		{k("vfs_statx", "__do_sys_newfstatat", "do_syscall_64"), catNames},
		{k("unix_stream_recvmsg", "__sys_recvmsg", "do_syscall_64"), catSocket},
		// The context switch inside a wait is the wait's.
		{k("finish_task_switch", "schedule", "futex_wait", "__x64_sys_futex", "do_syscall_64", "runtime.futex"), catWait},
		// Preemption on the way out of a system call is no system call's.
		{k("finish_task_switch", "schedule", "exit_to_user_mode_loop", "do_syscall_64", "syscall.write"), catKernel},
		{k("iowrite16", "virtqueue_notify", "blk_mq_flush_plug_list"), catKernel},
		{k("something", "__x64_sys_io_uring_enter", "do_syscall_64"), catSysOth},
		// User space.
		{k("runtime.memmove", "bufio.(*Reader).Read", "goqmail/internal/queue.(*Server).write"), catCode},
		{k("runtime.memclrNoHeapPointers", "runtime.mallocgc", "goqmail/internal/queue.(*Server).write"), catRuntime},
		{k("internal/runtime/syscall/linux.Syscall6", "syscall.Syscall", "syscall.read"), catGlue},
		{k("runtime.usleep", "runtime.sysmon", "runtime.mstart1"), catSysmon},
	}
	for _, c := range cases {
		if got := classify(c.chain); got != c.want {
			t.Errorf("%v: %q, want %q", c.chain, got, c.want)
		}
	}
}

func TestTableInMilliseconds(t *testing.T) {
	a := parsedSample(t)
	ms, err := parseMS("goqmail-local=0.5, goqmail-smtpd=0.4")
	if err != nil {
		t.Fatal(err)
	}
	tableHas(t, a, ms,
		"| CPU ms per message | goqmail-smtpd | goqmail-local | all |",
		"| "+catSync+" | 0.000 | 0.500 | 0.500 |",
		"| "+catSysmon+" | 0.200 | 0.000 | 0.200 |",
		"| total | 0.400 | 0.500 | 0.900 |",
	)
	if m := a.unprofiled(ms); len(m) != 0 {
		t.Errorf("unprofiled %v, want none", m)
	}
	if m := a.unprofiled(map[string]float64{"goqmail-local": 0.5, "goqmail-lcoal": 0.5}); len(m) != 1 || m[0] != "goqmail-lcoal" {
		t.Errorf("unprofiled %v, want [goqmail-lcoal] (a misspelt name must not drop out unseen)", m)
	}
	for _, bad := range []string{"goqmail-local", "goqmail-local=x", "=0.5", "goqmail-local=-1"} {
		if _, err := parseMS(bad); err == nil {
			t.Errorf("parseMS(%q) accepted it", bad)
		}
	}
}

func TestSmallProgramsFoldIntoOthers(t *testing.T) {
	a := newAccount()
	fsync := []frame{{"__x64_sys_fsync", true}, {"do_syscall_64", true}}
	for i := 0; i < 200; i++ {
		a.add("goqmail", "goqmail-local", fsync)
	}
	a.add("goqmail", "goqmail-auth", fsync)
	tableHas(t, a, nil, "| % of each program's samples | goqmail-local | others | all |")
}
