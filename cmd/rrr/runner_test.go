package main

import (
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/pkg/proc/proctest"
)

// pytestSuite is a generated pytest project: n files that each check that
// nothing of the files before them is seen (a module global, a
// monkeypatch, an imported test module, an environment variable), one
// failing file, and a conftest importing a module that notes each import.
func pytestSuite(t *testing.T, n int) string {
	files := map[string]string{
		"pytest.ini":        "[pytest]\nmarkers = slow\n",
		"tests/conftest.py": "import os, sys\nsys.path.insert(0, os.path.dirname(__file__))\nimport heavy\n",
		"tests/heavy.py": `import os
with open(os.path.join(os.path.dirname(__file__), "..", "heavy-loads"), "a") as f:
    f.write("%d\n" % os.getpid())
`,
		"tests/state.py":     "seen = []\n",
		"tests/test_fail.py": "def test_bad():\n    assert 1 == 2\n\ndef test_good():\n    pass\n",
		// skipped as a whole (pytest exits 5): pending, not failed
		"tests/test_skipped.py": "import pytest\npytest.skip('no numpy here', allow_module_level=True)\n",
	}
	for i := range n {
		files["tests/test_leak"+strconv.Itoa(i)+".py"] = strings.ReplaceAll(`import os, sys
import state

def test_starts_clean(monkeypatch):
    with open(os.path.join(os.path.dirname(__file__), "..", "parents"), "a") as f:
        f.write("%d\n" % os.getppid())
    assert state.seen == [], "state of an earlier file: %r" % state.seen
    state.seen.append(N)
    assert os.sep == "/", "a monkeypatch of an earlier file"
    monkeypatch.setattr(os, "sep", "X")
    others = [m for m in sys.modules if m.startswith("test_leak") and m != "test_leakN"]
    assert others == [], "test modules of earlier files: %r" % others
    assert "RRR_LEAK" not in os.environ
    os.environ["RRR_LEAK"] = "N"
`, "N", strconv.Itoa(i))
	}
	return project(t, files)
}

// rspecSuite is the same for RSpec: a spec_helper loading lib/, n files
// checking that a module's state and constants of earlier files are not
// seen, and one file with a failure and a pending example.
func rspecSuite(t *testing.T, n int) string {
	files := map[string]string{
		".rspec":              "--require spec_helper\n",
		"lib/thing.rb":        "module Thing\n  @items = []\n  class << self; attr_reader :items; end\nend\n",
		"spec/spec_helper.rb": "require 'thing'\nFile.open(File.expand_path('../helper-loads', __dir__), 'a') { |f| f.puts Process.pid }\n",
		"spec/fail_spec.rb": `RSpec.describe "fail" do
  it("bad") { expect(1).to eq(2) }
  it("later") { pending("not yet"); raise "x" }
end
`,
	}
	for i := range n {
		files["spec/leak"+strconv.Itoa(i)+"_spec.rb"] = strings.ReplaceAll(`RSpec.describe "leak N" do
  it "starts clean" do
    File.open(File.expand_path('../parents', __dir__), 'a') { |f| f.puts Process.ppid }
    expect(Thing.items).to eq([])
    Thing.items << N
    expect(Object.constants.grep(/\ALeak\d+\z/)).to eq([:LeakN])
  end
end
class LeakN; end
`, "N", strconv.Itoa(i))
	}
	return project(t, files)
}

func TestRunnerAdapters(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: not with -short")
	}
	bin := build(t)
	const files, slaves = 6, 2
	for _, c := range []struct {
		runner, loads string
		suite         func(*testing.T, int) string
		specs         string
		cases         int // test cases in all
		succeeded     int // spec files passed or pending
	}{
		{runner: "pytest", loads: "heavy-loads", suite: pytestSuite, specs: "tests/test_*.py", cases: files + 3, succeeded: files + 1},
		{runner: "rspec", loads: "helper-loads", suite: rspecSuite, specs: "spec/*_spec.rb", cases: files + 2, succeeded: files},
	} {
		t.Run(c.runner, func(t *testing.T) {
			dir := c.suite(t, files)
			f := &fleet{mark: filepath.Base(dir)} // to find what it leaves running
			results, report := t.TempDir(), filepath.Join(t.TempDir(), "report.xml")
			code, out, s := runLocalEnv(t, []string{"FLEETMARK=" + f.mark, "PYTEST_ADDOPTS=-p no:cacheprovider"}, bin, results,
				"--slaves", strconv.Itoa(slaves), "--runner", c.runner, "--max-trials", "1", "--junit", report,
				"--dir", dir, c.specs)
			require.Equal(t, 1, code, out)
			require.NotNil(t, s, out)
			require.Equal(t, c.succeeded, s.SucceededCount, out)
			require.Equal(t, 1, s.FailedCount, out)
			var passed, failed int
			for _, task := range s.Tasks {
				tr := model.FinalTrial(task)
				passed, failed = passed+tr.Passed+tr.Pending, failed+tr.Failed
			}
			require.Equal(t, c.cases-1, passed, "examples counted from the %s report", c.runner)
			require.Equal(t, 1, failed)
			doc := readJUnit(t, report)
			require.Equal(t, 1, doc.Failures)
			if c.runner == "pytest" {
				require.NoDirExists(t, filepath.Join(dir, ".pytest_cache"), "PYTEST_ADDOPTS=-p no:cacheprovider is honoured")
			}

			// Each slave loaded the framework and the helpers once, in its
			// runner, and ran every file of its share in a fork of it.
			loads := proctest.PidsIn(t, filepath.Join(dir, c.loads))
			require.LessOrEqual(t, len(loads), slaves, "loaded once per slave, not per file")
			parents := proctest.PidsIn(t, filepath.Join(dir, "parents"))
			// (more when the slow tail was run twice, speculatively)
			require.GreaterOrEqual(t, len(parents), files)
			for _, p := range parents {
				require.True(t, slices.Contains(loads, p), "file run by %d, not a fork of a runner %v", p, loads)
			}
			f.leftovers(t, nil, "after rrr local --runner "+c.runner)
		})
	}

	t.Run("a runner that cannot start", func(t *testing.T) {
		dir := project(t, map[string]string{"a.sh": "true\n"})
		code, out, s := runLocal(t, bin, t.TempDir(), "--slaves", "1", "--runner", "no-such-runner-rrr --fast",
			"--dir", dir, "a.sh")
		require.Equal(t, exitInfra, code, out)
		require.NotNil(t, s, out)
		require.Equal(t, "failed", s.Status)
		for _, want := range []string{`runner "no-such-runner-rrr --fast" could not start`, "slave rrrspec:worker:local:slave:1-", "executable file not found"} {
			require.Contains(t, out, want)
		}
	})
}
