# Plays the original RRRSpec client against an rrr fleet, for
# TestOriginalClient (cmd/rrr/compat_test.go). It writes a taskset the way
# the original `rrrspec start` wrote it, and reads results back the way the
# original's models read them, through the fields docs/protocol.md lists.
# Written for this repository; it needs only Ruby and the redis gem
# (Debian's ruby-redis).
#
#   ruby rrrspec_client.rb start RSYNC_NAME TIME_FORM SPEC...   prints the taskset key
#   ruby rrrspec_client.rb wait KEY SECONDS                     prints the final status
#   ruby rrrspec_client.rb read KEY                             prints what it read, as JSON
#   ruby rrrspec_client.rb cancel KEY
#
# Environment: RRR_REDIS (a redis:// URL), RRR_NAMESPACE (default rrrspec),
# RRRSPEC_SLAVE_COMMAND (default the original's `bundle exec rrrspec-client slave`).

require 'json'
require 'redis'
require 'securerandom'
require 'time'

NS = ENV.fetch('RRR_NAMESPACE', 'rrrspec')
R = Redis.new(url: ENV.fetch('RRR_REDIS'))

def key(*parts) = parts.join(':')

# The forms the original wrote its times in, by the Ruby that ran it.
def stamp(form)
  now = Time.now
  case form
  when 'utc' then now.utc.to_s                 # 2026-12-03 06:14:18 UTC
  when 'offset' then now.getlocal('+09:00').to_s # 2026-12-03 15:14:18 +0900
  when 'bare' then now.utc.strftime('%F %T')   # no zone at all
  when 'ruby18' then now.utc.strftime('%a %b %d %H:%M:%S UTC %Y')
  else raise "unknown time form #{form}"
  end
end

# start: Taskset.create, then per spec Task.create, add_task and
# enqueue_task, then ActiveTaskset.add and DispatcherQueue.notify. No
# status (the dispatcher sets it), no trial command, no counters.
def start(rsync_name, form, specs)
  taskset = key(NS, 'taskset', SecureRandom.uuid)
  R.hmset(taskset,
          'rsync_name', rsync_name,
          'setup_command', 'true',
          'slave_command', ENV.fetch('RRRSPEC_SLAVE_COMMAND', 'bundle exec rrrspec-client slave'),
          'worker_type', 'default',
          'max_workers', 1,
          'max_trials', 2,
          'taskset_class', "compat-#{rsync_name}",
          'unknown_spec_timeout_sec', '60',
          'least_timeout_sec', '10',
          'created_at', stamp(form))
  specs.each do |spec|
    task = key(taskset, 'task', spec)
    R.hmset(task, 'taskset', taskset, 'estimate_sec', '', 'spec_file', spec)
    R.rpush(key(taskset, 'tasks'), task)
    R.rpush(key(taskset, 'tasks_left'), task)
    R.rpush(key(taskset, 'task_queue'), task)
  end
  R.rpush(key(NS, 'active_taskset'), taskset)
  R.rpush(key(NS, 'dispatcher_queue'), 0)
  puts taskset
end

def wait(taskset, seconds)
  deadline = Time.now + seconds.to_f
  loop do
    status = R.hget(taskset, 'status')
    if %w[succeeded failed cancelled].include?(status)
      puts status
      return
    end
    if Time.now > deadline
      warn "timed out with status #{status.inspect}"
      exit 1
    end
    sleep 0.1
  end
end

# Times are parsed as the original's models did (Time.zone.parse), counts
# with to_i, a missing value is nil.
def time(v) = (v.nil? || v.empty?) ? nil : Time.parse(v).utc.iso8601
def int(v) = (v.nil? || v.empty?) ? nil : v.to_i

def read(taskset)
  h = R.hgetall(taskset)
  tasks = R.lrange(key(taskset, 'tasks'), 0, -1).map do |task|
    t = R.hgetall(task)
    trials = R.lrange(key(task, 'trial'), 0, -1).map do |trial|
      tr = R.hgetall(trial)
      { 'status' => tr['status'], 'slave' => tr['slave'],
        'started_at' => time(tr['started_at']), 'finished_at' => time(tr['finished_at']),
        'passed' => int(tr['passed']), 'pending' => int(tr['pending']), 'failed' => int(tr['failed']) }
    end
    { 'spec_file' => t['spec_file'], 'status' => t['status'], 'has_status' => t.key?('status'),
      'estimate_sec' => int(t['estimate_sec']), 'trials' => trials }
  end
  slaves = R.lrange(key(taskset, 'slave'), 0, -1).map do |slave|
    { 'key' => slave, 'status' => R.hget(slave, 'status') }
  end
  worker_logs = R.lrange(key(taskset, 'worker_log'), 0, -1).map do |wl|
    w = R.hgetall(wl)
    { 'started_at' => time(w['started_at']), 'rsync_finished_at' => time(w['rsync_finished_at']),
      'setup_finished_at' => time(w['setup_finished_at']), 'finished_at' => time(w['finished_at']) }
  end
  estimates = R.hgetall(key(NS, 'estimate_sec', h['taskset_class'])).transform_values(&:to_i)
  puts JSON.generate(
    'status' => h['status'], 'created_at' => time(h['created_at']), 'finished_at' => time(h['finished_at']),
    'succeeded_count' => h['succeeded_count'].to_i, 'failed_count' => h['failed_count'].to_i,
    'log' => R.get(key(taskset, 'log')) || '', 'tasks' => tasks, 'slaves' => slaves,
    'worker_logs' => worker_logs, 'estimates' => estimates
  )
end

case ARGV.shift
when 'start' then start(ARGV[0], ARGV[1], ARGV[2..])
when 'wait' then wait(ARGV[0], ARGV[1])
when 'read' then read(ARGV[0])
when 'cancel' then R.rpush(key(NS, 'arbiter_queue'), "cancel\t#{ARGV[0]}")
else abort "usage: #{$PROGRAM_NAME} start|wait|read|cancel ..."
end
