package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// slowStart is a "framework" whose start-up costs one second and whose
// tests cost nothing: run as a trial command per file, or, with --serve,
// as a fork server of docs/runners.md that starts up once.
const slowStart = `import json, os, sys, time
time.sleep(1)  # the start-up: interpreter, framework, project
if sys.argv[1:] != ["--serve"]:
    sys.exit(0)  # one file's (empty) tests
requests, replies = os.fdopen(3, "r"), os.fdopen(4, "w")
def say(s):
    replies.write(s + "\n"); replies.flush()
say("ready")
for line in requests:
    req = json.loads(line)
    pid = os.fork()
    if pid == 0:
        os.setpgid(0, 0)
        for path, fd in ((req["stdout"], 1), (req["stderr"], 2)):
            os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), fd)
        os._exit(0)
    try:
        os.setpgid(pid, pid)
    except OSError:
        pass
    say("started %d" % pid)
    _, st = os.waitpid(pid, 0)
    say("done exit %d" % os.WEXITSTATUS(st))
`

// BenchmarkRunner measures what a persistent runner saves: 40 files of a
// framework whose start-up costs 1 s, on rrr local with 2 slaves, run as
// plain trials (each pays the start-up) and in a runner (each slave pays it
// once). Per trial: the mean trial time rrr recorded; wall: the whole run.
func BenchmarkRunner(b *testing.B) {
	bin := build(b)
	files := benchEnv(b, "RRR_TEST_BENCH_RUNNER_FILES", 40)
	for range b.N {
		dir := b.TempDir()
		require.NoError(b, os.WriteFile(filepath.Join(dir, "slow_start.py"), []byte(slowStart), 0o644))
		specs := specFiles(b, dir, files, func(i int) string { return fmt.Sprintf("t/test_%03d.py", i) },
			func(int) string { return "" })
		modes := []struct{ name, flag, value string }{
			{"plain trials", "--trial-command", "python3 slow_start.py {file}"},
			{"runner", "--runner", "python3 slow_start.py --serve"},
		}
		perTrial := map[string]time.Duration{}
		for _, m := range modes {
			start := time.Now()
			code, out, s := runLocal(b, bin, b.TempDir(), append([]string{"--slaves", "2", "--format", "exit-code",
				m.flag, m.value, "--dir", dir}, specs...)...)
			wall := time.Since(start)
			require.Equal(b, 0, code, out)
			_, _, trials, work := span(s)
			perTrial[m.name] = work / time.Duration(trials)
			figure(b, "start-up 1 s, "+m.name+": time per trial", perTrial[m.name].Round(time.Millisecond).String(),
				fmt.Sprintf("mean recorded trial time, %d trials of no-op files, rrr local --slaves 2 %s '%s'", trials, m.flag, m.value))
			figure(b, "start-up 1 s, "+m.name+": wall", wall.Round(10*time.Millisecond).String(),
				fmt.Sprintf("whole rrr local run, %d files on 2 slaves", files))
			b.ReportMetric(perTrial[m.name].Seconds()*1000, "ms/trial-"+strings.ReplaceAll(m.name, " ", "-"))
		}
		figure(b, "start-up 1 s: runner against plain trials, per trial",
			fmt.Sprintf("%.3fx", float64(perTrial["runner"])/float64(perTrial["plain trials"])), "runner's time per trial / plain trial's")
	}
}
