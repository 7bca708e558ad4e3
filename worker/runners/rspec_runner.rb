# rrr's RSpec runner (`rrr start --runner rspec`), a fork server.
#
# It speaks the protocol of docs/runners.md: requests on fd 3, one JSON line
# per trial; replies on fd 4 ("ready", "started <pid>", "done exit <code>" or
# "done signal <number>"). At start it loads rspec-core and, when the
# project has them, spec/spec_helper.rb and spec/rails_helper.rb (with lib/
# and spec/ on the load path, as rspec puts them), once. Each trial is a fork
# of that process: a fresh copy of the loaded state, in a process group of
# its own, that runs `rspec ARGS --format progress --format json --out
# <report> <file>` and exits, so that nothing one spec file changes reaches
# the next. ARGS are the words after "rspec" in --runner; .rspec and
# SPEC_OPTS are read by rspec in the child as usual.
#
# Only Ruby's standard library and rspec-core are needed.

require 'json'

fd_in = Integer(ENV.delete('RRR_RUNNER_IN') || '3')
fd_out = Integer(ENV.delete('RRR_RUNNER_OUT') || '4')
requests = IO.new(fd_in, 'r')
out = IO.new(fd_out, 'w')
out.sync = true
args = ARGV.dup

begin
  require 'bundler/setup' if File.exist?(ENV['BUNDLE_GEMFILE'] || 'Gemfile')
rescue LoadError, StandardError => e
  warn "rrr runner rspec: bundler/setup: #{e.message} (going on without bundler)"
end
begin
  require 'rspec/core'
rescue LoadError => e
  warn "rrr runner rspec: cannot load rspec-core with #{RbConfig.ruby} (#{e.message}): " \
       'install RSpec for this Ruby, or put the Ruby that has it first on PATH'
  exit 1
end
%w[spec lib].each do |dir|
  $LOAD_PATH.unshift(File.expand_path(dir)) if File.directory?(dir)
end
%w[spec_helper rails_helper].each do |helper|
  require helper if File.exist?(File.join('spec', "#{helper}.rb"))
end

out.puts 'ready'

formats = args.any? { |a| a.start_with?('-f', '--format') } ? [] : %w[--format progress]
requests.each_line do |line|
  next if line.strip.empty?

  req = JSON.parse(line)
  $stdout.flush
  $stderr.flush
  pid = fork do
    code = 3
    begin
      Process.setpgid(0, 0)
      requests.close
      out.close
      %w[TERM INT PIPE].each { |sig| Signal.trap(sig, 'DEFAULT') }
      $stdout.reopen(req['stdout'], 'w')
      $stderr.reopen(req['stderr'], 'w')
      $stdout.sync = true
      $stderr.sync = true
      ENV.replace(req['env'] || {})
      Dir.chdir(req['dir']) if req['dir']
      # A partition (docs/partitions.md) names the examples to run instead
      # of the file: ./file[1:2,1:3], or --require of a helper and the file.
      targets = req['cases'] || [req['file']]
      code = RSpec::Core::Runner.run(args + formats + ['--format', 'json', '--out', req['report']] + targets,
                                     $stderr, $stdout).to_i
    rescue SystemExit => e
      code = e.status
    rescue Exception => e # rubocop:disable Lint/RescueException
      warn "#{e.class}: #{e.message}\n#{(e.backtrace || []).join("\n")}"
    ensure
      $stdout.flush
      $stderr.flush
      exit!(code)
    end
  end
  begin
    Process.setpgid(pid, pid) # also here, so that it holds before "started"
  rescue SystemCallError
    nil # the child did it already, or has ended
  end
  out.puts "started #{pid}"
  _, status = Process.wait2(pid)
  begin
    Process.kill('KILL', -pid) # what is left of its group
  rescue SystemCallError
    nil
  end
  out.puts(status.signaled? ? "done signal #{status.termsig}" : "done exit #{status.exitstatus}")
end
