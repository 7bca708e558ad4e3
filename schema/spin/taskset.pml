/*
 * taskset.pml: a SPIN model of the task and taskset state machines of rrr
 * (see docs/model.md for what is modelled, what is abstracted away, and
 * the figures; scripts/spin.sh runs it).
 *
 * Every Lua script of schema/lua is one atomic step (d_step or atomic);
 * every Go-side step between two scripts (a read of Redis, a decision) is
 * a step of its own, so that scripts and reads of other processes
 * interleave with it. Faults are nondeterministic choices of the process
 * they happen to: a slave dies after take_task or while its trial runs,
 * its worker may die with it (nobody marks its trial error), a trial
 * passes or fails, the client cancels or the worker fails the taskset.
 *
 * Configuration (-D on the spin command line):
 *   NT      tasks (1..3)            NA      arbiters (1 or 2)
 *   MAXT    max_trials (1..3)       DEATHS  slave deaths in all (0..2, one per slot)
 *   WDEATH  1: a slave's worker may die with it (its trial is not marked)
 *   CANCEL  1: the client may cancel and the worker may fail the taskset
 *   PERSIST 1: the persister closes trials still running after the end
 *           (needed for liveness with deaths; left out where no slave dies
 *           to save states: it cannot change a verdict)
 *   BOUND   n > 0: assert at most n trials per task (n = MAXT+1 is
 *           expected to FAIL: docs/model.md, "trials per task")
 *   (lib.lua settle also fails a task two of whose trials killed their
 *   slave or runner, `crashed`: with max_trials <= 2, as here, two failed
 *   trials fail the task anyway, so that rule adds no behaviour to these
 *   configurations and is not modelled apart.)
 *   MAXF    n > 0: max_failures, the taskset fails once n tasks failed
 *           with tasks left (lib.lua settle)
 *   HOT     which path a slave's trial takes: 0 take_task, start_trial and
 *           the two-key finish_trial (the path of batches), 1 take_trial
 *           and finish_trial's slave form, 2 either, chosen at each take
 *   QUAR    1: task 0 is quarantined (create_taskset marks it): its failed
 *           verdict counts in quarantined_failed_count too, and neither
 *           fails the taskset nor counts toward max_failures (lib.lua settle,
 *           failing_count)
 *
 * Scripts this model stands for, with the sha256 of the version it was
 * checked against (schema/model_test.go, TestModelCoversScripts, compares
 * them; `go test ./schema -run TestModelCoversScripts -update` rewrites
 * them after the model was re-checked):
 *
 * script create_taskset.lua 6676312690a998f38a9b7fdbf64aa4d499874aa068e520e1b35d9ffaa77ea9cb
 * script take_trial.lua e860b36658af0d965bd6178513a1427f72d910e2af9be78778a2487be6f33ec6
 * script take_task.lua 4689873d46f2d2df85ce7a38b44cddcf4a01b0f83d21c8c87165622531714a09
 * script start_trial.lua 751c81b3907e867b680593cf328b57f1b4a7865f5da5a04ac36c03749284a46d
 * script finish_trial.lua 8bff090362331a94709fc692f20ee9efa65d1e3ab7ab51096bcb67a71cf38104
 * script settle_task.lua 0709318174600918d6b2871723a394adbee1c72ddc370bd7e5cbe9e4b0c18782
 * script requeue_task.lua 0b10e159314b094efae43a559037abc878c34bf9b3378c3a99d50d8a74f863ae
 * script finish_taskset.lua c8933f1542e4230588cb5f9f35eb19e14995a54472101bd7e96e6ebd9d381d9d
 * script stop_taskset.lua 5d74c5a49535d485d5d0c87a3375327f39c7bbf5fa86f1e8b057474c3035f60e
 * script register_slave.lua 39077890e6b9626ca2beb2b25b01547ad039fa069dec0fe48727a793c612a12b
 * script untry.lua 5f8f3f69fed4afac3c70c83bdf279338a30e8328cdf80bf468bce1af038a7f43
 * script lib.lua cf1bd363f17a850d515f37fa4481545143ced93f04f5d1f5f8b201a3b1ff3c18
 * not modelled recover_consumer.lua: an arbiter's crash hands its commands back; the model folds that into "handled later" (the sweep checks anyway)
 * not modelled dispatch.lua: which worker gets the taskset; the model starts two slaves on it
 * not modelled release_worker.lua: a worker leaving a taskset; the model's slaves exit on its status
 * not modelled register_worker.lua: worker membership; not part of the task state machine
 * not modelled remove_worker.lua: removal of a dead worker's keys; slave heartbeats stand for its death
 * not modelled append_capped.lua: logs and outputs
 * not modelled stamp.lua: timestamps of slaves and workers
 * not modelled start_worker_log.lua: the worker log of a taskset
 * not modelled record_persisted.lua: the persister, after the taskset ended
 * not modelled expire_tasks.lua: the persister's expiry of a stored taskset's keys, after it ended
 * not modelled trip_breaker.lua: a bad worker's circuit breaker marks its run of fast failures discounted, which settle then skips: for the task state machine such a trial is as if it never finished failed, and its task is queued again as after any failure with trials left (the model's failures all count)
 * not modelled take_batch.lua: n tasks taken at once are n take_task steps with nothing between them; each then goes through start_trial as the model's take_task path does, and a slave holding several is, for the task state machine, several slaves holding one each
 */

#ifndef NT
#define NT 1
#endif
#ifndef NA
#define NA 1
#endif
#ifndef MAXT
#define MAXT 2
#endif
#ifndef DEATHS
#define DEATHS 1
#endif
#ifndef WDEATH
#define WDEATH 1
#endif
#ifndef CANCEL
#define CANCEL 1
#endif
#ifndef PERSIST
#define PERSIST 1
#endif
#ifndef BOUND
#define BOUND 0
#endif
#ifndef HOT
#define HOT 2
#endif
#ifndef MAXF
#define MAXF 0
#endif
#ifndef QUAR
#define QUAR 0
#endif

/* trial slots per task: enough for every trial the model can start
 * (asserted in start_trial) */
#define CAP (MAXT + 3)
#define NS 2            /* slave slots (one worker, or two) */
#define NID 4           /* slave identities: slot*2 + generation */

/* taskset status */
#define RUNNING 0
#define SUCCEEDED 1
#define FAILED 2
#define CANCELLED 3
/* task status */
#define NONE 0
#define PASSED 1
#define TFAILED 2
/* trial status (0: slot unused) */
#define TRUN 1
#define TPASS 2
#define TFAIL 3         /* failed, error or timeout: all count against MAXT */

/* script replies */
#define OK 0
#define EMPTY 1
#define STOPPED 2
#define SETTLED 3
#define QUEUED 4
#define REQUEUED 5
#define SRUNNING 6
#define VERDICT 7
#define STALE 8

/* Redis */
byte ts = RUNNING;              /* taskset hash: status */
byte succ, fail;                /* succeeded_count, failed_count */
byte qfail;                     /* quarantined_failed_count */
bool quar[NT];                  /* task hash: quarantined */
bool left[NT];                  /* tasks_left */
bool queued[NT];                /* task_queue (a set: a task is in it once, LPOS) */
bool requeued[NT];              /* task hash: requeued */
byte status[NT];                /* task hash: status */
byte ntr[NT];                   /* task trial list: its length */
byte tst[NT * CAP];             /* trial hash: status */
byte tsl[NT * CAP];             /* trial hash: slave */
byte tried[NID];                /* slave tried sets, a bit per task */
bool alive[NID];                /* slave heartbeats */
bool cmd[NT];                   /* arbiter_queue: a trial command for the task */
/* ghosts */
byte verdicts[NT];              /* verdicts given to each task */
byte nrun;                      /* trials running */
bool byverdicts;                /* the taskset finished by finish_if_done */
byte deaths;

#define T(i, j) ((i) * CAP + (j))

/* the invariants, checked after every script that changes what they read */
inline invariants() {
  k = 0; np = 0; nf = 0; nr = 0;
  do
  :: k < NT ->
     assert(verdicts[k] <= 1);
     assert((status[k] != NONE) == (verdicts[k] == 1));
     assert(status[k] == NONE || !left[k]);
     assert(status[k] == NONE || !queued[k]);
     if :: status[k] == PASSED -> np++ :: status[k] == TFAILED -> nf++ :: else fi;
     if :: status[k] == TFAILED && quar[k] -> nr++ :: else fi;
     k++
  :: else -> break
  od;
  assert(succ == np && fail == nf && qfail == nr);
  assert(!byverdicts || (np + nf == NT));
  /* finished by its verdicts: failed exactly when a task that is not
   * quarantined failed */
  assert(!byverdicts || ((ts == FAILED) == (nf > nr)));
  /* without a stop from outside, a failed taskset has a failed task that
   * is not quarantined: neither the last verdict nor max_failures fails it
   * for quarantined failures alone */
  assert(CANCEL || ts != FAILED || nf > nr);
  k = 0;
  do :: k < NT -> assert(ts == RUNNING || !queued[k]); k++ :: else -> break od;
  k = 0
}

/* lib.lua close_taskset: final status, the queue is dropped */
inline close_taskset(st) {
  ts = st;
  k = 0;
  do :: k < NT -> queued[k] = 0; k++ :: else -> break od
}

/* lib.lua finish_if_done */
inline finish_if_done() {
  k = 0; np = 0;
  do :: k < NT -> np = np + left[k]; k++ :: else -> break od;
  if
  :: np == 0 && ts == RUNNING ->
     byverdicts = 1;
     if :: fail > qfail -> close_taskset(FAILED) :: else -> close_taskset(SUCCEEDED) fi
  :: else
  fi
}

/* lib.lua settle: the rules of settle_task.lua, also run by finish_trial.lua
 * in the slave's form (no d_step of its own: the caller's step is it) */
inline settle_body(i, out) {
    if
    :: status[i] != NONE -> out = SETTLED
    :: else ->
       if
       :: ts != RUNNING -> out = STOPPED
       :: else ->
          np = 0; nf = 0; nr = 0; k = 0;
          do
          :: k < ntr[i] ->
             if :: tst[T(i, k)] == TPASS -> np++
                :: tst[T(i, k)] == TRUN -> nr++
                :: tst[T(i, k)] == TFAIL -> nf++
                :: else fi;
             k++
          :: else -> break
          od;
          if
          :: np > 0 -> out = VERDICT; status[i] = PASSED
          :: np == 0 && nr > 0 -> out = SRUNNING
          :: np == 0 && nr == 0 && nf >= MAXT -> out = VERDICT; status[i] = TFAILED
          :: else ->
             if :: queued[i] -> out = QUEUED
                :: else -> queued[i] = 1; requeued[i] = 1; out = REQUEUED
             fi
          fi;
          if
          :: out == VERDICT ->
             left[i] = 0;
             if :: requeued[i] -> queued[i] = 0 :: else fi;
             if :: status[i] == TFAILED -> fail++ :: else -> succ++ fi;
             if :: status[i] == TFAILED && quar[i] -> qfail++ :: else fi;
             verdicts[i]++;
             finish_if_done();
             if
             :: MAXF > 0 && status[i] == TFAILED && !quar[i] && ts == RUNNING && fail - qfail >= MAXF ->
                close_taskset(FAILED)
             :: else
             fi
          :: else
          fi
       fi
    fi;
    invariants();
    np = 0; nf = 0; nr = 0; k = 0
}

/* settle_task.lua (with the LRANGE of schema.Client.SettleTask just before
 * it: a stale reply only makes the client read again) */
inline settle_task(i, out) {
  d_step { settle_body(i, out) }
}

/* requeue_task.lua: seen is the trial count the caller read */
inline requeue_task(i, seen) {
  d_step {
    if
    :: status[i] != NONE -> skip          /* settled */
    :: status[i] == NONE && ts != RUNNING -> skip       /* stopped */
    :: status[i] == NONE && ts == RUNNING && ntr[i] != seen -> skip  /* stale */
    :: status[i] == NONE && ts == RUNNING && ntr[i] == seen && queued[i] -> skip
    :: status[i] == NONE && ts == RUNNING && ntr[i] == seen && !queued[i] ->
       queued[i] = 1; requeued[i] = 1
    fi
  }
}

/* finish_trial.lua, the slave's form: the first result wins, and the task
 * is settled in the same step (settle_body); no arbiter is asked */
inline finish_settle(i, j, st, rec, res) {
  d_step {
    if
    :: tst[T(i, j)] == TRUN -> tst[T(i, j)] = st; nrun--; rec = 1; settle_body(i, res)
    :: else -> rec = 0
    fi;
    res = 0
  }
}

/* finish_trial.lua, the two-key form: the first result wins; a trial
 * command for the arbiter */
inline finish_trial(i, j, st, rec) {
  d_step {
    if
    :: tst[T(i, j)] == TRUN -> tst[T(i, j)] = st; nrun--; cmd[i] = 1; rec = 1
    :: else -> rec = 0
    fi
  }
}

/* ------------------------------------------------------------ slaves */

/* worker/slave.go Slave.Run and runTask; worker/supervise.go restarts a
 * dead slave under a new key, and marks its running trial error */
proctype Slave(byte slot) {
  byte me = slot * 2;
  byte task, tr, out, k, np, nf, nr;
  bool rec, hot;
start:
  /* register_slave.lua, then the taskset read of Slave.Run */
  alive[me] = 1;
  if :: ts != RUNNING -> goto exit :: else fi;
take:
  if
  :: HOT != 0 -> goto take_hot
  :: HOT != 1 -> skip
  fi;
  /* take_task.lua: the first queued task this slave has not taken (the
   * queue order is abstracted: any such task) */
  atomic {
    if
    :: ts == RUNNING && queued[0] && (tried[me] & 1) == 0 -> task = 0
#if NT > 1
    :: ts == RUNNING && queued[1] && (tried[me] & 2) == 0 -> task = 1
#endif
#if NT > 2
    :: ts == RUNNING && queued[2] && (tried[me] & 4) == 0 -> task = 2
#endif
    :: else -> task = 255
    fi;
    if
    :: task != 255 -> queued[task] = 0; tried[me] = tried[me] | (1 << task); out = OK
    :: else -> out = EMPTY
    fi
  };
  if
  :: out == EMPTY ->
     /* check command, wait for an event or a second, read the status;
      * the arbiter's sweep stands for the check (see docs/model.md) */
     if :: ts != RUNNING -> goto exit :: else -> goto take fi
  :: else
  fi;
  /* taken: the slave may die before it starts a trial (no trial of its
   * own for its worker to mark) */
  if
  :: deaths < DEATHS && (me & 1) == 0 -> out = EMPTY; goto die
  :: true
  fi;
  /* start_trial.lua */
  d_step {
    if
    :: ts != RUNNING -> out = STOPPED
    :: ts == RUNNING && status[task] != NONE -> out = SETTLED
    :: ts == RUNNING && status[task] == NONE ->
       assert(ntr[task] < CAP);
#if BOUND
       assert(ntr[task] < BOUND);
#endif
       tr = ntr[task]; tst[T(task, tr)] = TRUN; tsl[T(task, tr)] = me;
       ntr[task]++; nrun++; out = OK
    fi
  };
  if
  :: out == STOPPED -> goto exit
  :: out == SETTLED -> goto take
  :: else
  fi;
  goto running;
take_hot:
  /* take_trial.lua: take_task and start_trial in one step; a task that
   * has its verdict is taken and skipped ('again'), nothing is taken from
   * a taskset that is not running ('stopped'). It may take several
   * settled tasks before the one it starts; one per step here only adds
   * behaviours. */
  skip;
  d_step {
    if
    :: ts != RUNNING -> task = 255; out = STOPPED
    :: ts == RUNNING && queued[0] && (tried[me] & 1) == 0 -> task = 0
#if NT > 1
    :: ts == RUNNING && queued[1] && (tried[me] & 2) == 0 -> task = 1
#endif
#if NT > 2
    :: ts == RUNNING && queued[2] && (tried[me] & 4) == 0 -> task = 2
#endif
    :: else -> task = 255; out = EMPTY
    fi;
    if
    :: task != 255 ->
       queued[task] = 0; tried[me] = tried[me] | (1 << task);
       if
       :: status[task] != NONE -> out = SETTLED
       :: else ->
          assert(ntr[task] < CAP);
#if BOUND
          assert(ntr[task] < BOUND);
#endif
          tr = ntr[task]; tst[T(task, tr)] = TRUN; tsl[T(task, tr)] = me;
          ntr[task]++; nrun++; out = OK
       fi
    :: else
    fi;
    hot = (out == OK)
  };
  if
  :: out == STOPPED -> goto exit
  :: out == SETTLED -> goto take
  :: out == EMPTY -> if :: ts != RUNNING -> goto exit :: else -> goto take fi
  :: else
  fi;
running:
  /* the trial runs: it passes, fails, or its slave dies */
  if
  :: !hot -> finish_trial(task, tr, TPASS, rec)
  :: !hot -> finish_trial(task, tr, TFAIL, rec)
  :: hot -> finish_settle(task, tr, TPASS, rec, out)
  :: hot -> finish_settle(task, tr, TFAIL, rec, out)
  :: deaths < DEATHS && (me & 1) == 0 -> goto die
  fi;
  hot = 0;
  goto take;
die:
  deaths++;
  alive[me] = 0;
  /* worker/supervise.go slaveExited: the worker marks the slave's running
   * trials error; or the worker died too and only the arbiter's reaping
   * (heartbeat gone) finishes them */
  if
  :: out == OK -> finish_trial(task, tr, TFAIL, rec)
  :: out == OK && WDEATH -> skip
  :: out != OK -> skip
  fi;
  /* a new slave under a new key (the worker restarts it, or another
   * worker comes) */
  me = me + 1;
  out = 0; task = 0; tr = 0; rec = 0; hot = 0;
  goto start;
exit:
  out = 0; task = 0; tr = 0; rec = 0; k = 0; hot = 0
}

/* ---------------------------------------------------------- arbiters */

/* arbiter/arbiter.go settleTrial and Sweep; arbiter/check.go Check.
 * Locals computed from what was read are folded into the step of the
 * read or script they go with (see docs/model.md, "steps"). */
proctype Arbiter() {
  byte i, j, k, np, nf, nr, out, pick;
  byte qs;                 /* the queue as read: a bit per task */
  byte seen[NT];           /* trial counts as read */
  byte st[NT * CAP];       /* trial statuses as read */
  byte done, qd, rs;       /* per-task bits: done, queued, runningSeen */
  bool rec, all;
end_loop:
  do
  :: /* a trial command (popped reliably: a dead arbiter's commands are
      * handed back, which the model folds into "handled later") */
     atomic { cmd[0] -> cmd[0] = 0 }; settle_task(0, out); out = 0
#if NT > 1
  :: atomic { cmd[1] -> cmd[1] = 0 }; settle_task(1, out); out = 0
#endif
#if NT > 2
  :: atomic { cmd[2] -> cmd[2] = 0 }; settle_task(2, out); out = 0
#endif
  :: /* check: the sweep, or a check command. HGETALL of the taskset and
      * LRANGE of tasks_left */
     atomic {
       if :: ts != RUNNING -> goto end_check :: else fi;
       k = 0; np = 0;
       do :: k < NT -> np = np + left[k];
             if :: !left[k] -> done = done | (1 << k) :: else fi; k++
          :: else -> break od;
       k = 0;
       if :: np == 0 -> goto finish :: else fi;
       np = 0
     };
     /* readTasks: the queue first */
     atomic {
       qs = 0; k = 0;
       do :: k < NT -> if :: queued[k] -> qs = qs | (1 << k) :: else fi; k++ :: else -> break od;
       k = 0; qd = qs
     };
     /* then the trial lists and the trials of the left tasks */
     d_step {
       i = 0;
       do
       :: i < NT ->
          if :: (done & (1 << i)) == 0 -> seen[i] = ntr[i] :: else fi;
          j = 0;
          do :: j < seen[i] -> st[T(i, j)] = tst[T(i, j)]; j++ :: else -> break od;
          i++
       :: else -> break
       od;
       i = 0; j = 0
     };
     /* reapLostTrials: finish_trial(error) of each running trial whose
      * slave's heartbeat is gone (heartbeats read with it) */
     i = 0;
     do
     :: i < NT ->
        j = 0;
        do
        :: j < seen[i] ->
           if
           :: st[T(i, j)] == TRUN && !alive[tsl[T(i, j)]] ->
              d_step {
                if
                :: tst[T(i, j)] == TRUN -> tst[T(i, j)] = TFAIL; nrun--; cmd[i] = 1
                :: else
                fi;
                st[T(i, j)] = tst[T(i, j)]   /* recorded, or HGET what its slave said */
              }
           :: else
           fi;
           j++
        :: else -> break
        od;
        i++
     :: else -> break
     od;
     /* settle every left task that is worth it as read (worthSettling) */
     i = 0;
     do
     :: i < NT && (done & (1 << i)) -> i++
     :: i < NT && (done & (1 << i)) == 0 ->
        d_step {
          np = 0; nf = 0; nr = 0; j = 0;
          do
          :: j < seen[i] ->
             if :: st[T(i, j)] == TPASS -> np++ :: st[T(i, j)] == TRUN -> nr++
                :: st[T(i, j)] == TFAIL -> nf++ :: else fi; j++
          :: else -> break
          od;
          j = 0;
          all = (np > 0 || (nr == 0 && (nf >= MAXT || (qd & (1 << i)) == 0)));
          np = 0; nf = 0; nr = 0
        };
        if
        :: all ->
           all = 0;
           settle_task(i, out);
           d_step {
             if
             :: out == VERDICT || out == SETTLED -> done = done | (1 << i)
             :: out == SRUNNING -> rs = rs | (1 << i)
             :: out == REQUEUED || out == QUEUED -> qd = qd | (1 << i)
             :: else
             fi
           };
           if
           :: out == STOPPED -> goto end_check
           :: out == VERDICT && ts != RUNNING -> goto end_check   /* it finished the taskset */
           :: else
           fi
        :: else
        fi;
        i++
     :: else -> break
     od;
     if :: done == (1 << NT) - 1 -> goto finish :: else fi;
     /* untry: a queued task (as read) with trials that may be retried,
      * taken before by every live slave of the taskset: the arbiter reads
      * the heartbeats, then untry.lua checks the tried sets and clears them
      * in one step. The model checks and clears in two steps, which allows
      * every interleaving the script allows, and more. */
     i = 0;
     do
     :: i < NT ->
        atomic {
          all = 0;
          if
          :: (qs & (1 << i)) && (done & (1 << i)) == 0 && seen[i] > 0 ->
             nf = 0; j = 0;
             do :: j < seen[i] -> if :: st[T(i, j)] == TFAIL -> nf++ :: else fi; j++
                :: else -> break od;
             j = 0;
             all = nf < MAXT && (alive[0] || alive[1] || alive[2] || alive[3]) &&
                   (!alive[0] || (tried[0] & (1 << i))) && (!alive[1] || (tried[1] & (1 << i))) &&
                   (!alive[2] || (tried[2] & (1 << i))) && (!alive[3] || (tried[3] & (1 << i)));
             nf = 0
          :: else
          fi
        };
        if
        :: all -> d_step {
             k = 0;
             do :: k < NID -> if :: alive[k] -> tried[k] = tried[k] & ~(1 << i) :: else fi; k++
                :: else -> break od;
             k = 0; all = 0 }
        :: else
        fi;
        i++
     :: else -> break
     od;
     /* LLEN of the queue: not empty, done */
     atomic {
       k = 0; np = 0;
       do :: k < NT -> np = np + queued[k]; k++ :: else -> break od;
       k = 0;
       if :: np > 0 -> goto end_check :: else fi;
       pick = 255
     };
     /* requeue_task of each task with no trial running (as read) */
     i = 0;
     do
     :: i < NT ->
        if
        :: (done & (1 << i)) == 0 && (qd & (1 << i)) == 0 && (rs & (1 << i)) == 0 ->
           atomic { nr = 0; j = 0;
             do :: j < seen[i] -> if :: st[T(i, j)] == TRUN -> nr++ :: else fi; j++ :: else -> break od;
             j = 0;
             if :: nr == 0 -> pick = 254 :: else fi;
             if :: nr == 0 -> requeue_task(i, seen[i]) :: else fi;
             nr = 0 }
        :: else
        fi;
        i++
     :: else -> break
     od;
     if :: pick == 254 -> goto end_check :: else fi;
     /* every left task runs: a speculative copy of the one with the
      * fewest trials that may be duplicated (one running, at most MAXT
      * trials); ties: any of them (the code takes the oldest running) */
     i = 0;
     do
     :: i < NT ->
        atomic {
          if
          :: (done & (1 << i)) == 0 ->
             nr = 0; j = 0;
             do :: j < seen[i] -> if :: st[T(i, j)] == TRUN -> nr++ :: else fi; j++ :: else -> break od;
             j = 0;
             if
             :: nr == 1 && seen[i] <= MAXT && (pick == 255 || seen[i] < seen[pick]) -> pick = i
             :: nr == 1 && seen[i] <= MAXT && pick != 255 && seen[i] == seen[pick] -> pick = i
             :: else
             fi;
             nr = 0
          :: else
          fi
        };
        i++
     :: else -> break
     od;
     if :: pick < NT -> requeue_task(pick, seen[pick]) :: else fi;
     goto end_check;
finish:
     skip;
     /* finish_taskset.lua */
     d_step { finish_if_done(); invariants(); np = 0; nf = 0; nr = 0; k = 0 };
end_check:
     skip;
     /* forget what this check read */
     d_step {
       i = 0; j = 0; k = 0; np = 0; nf = 0; nr = 0; out = 0; pick = 0; qs = 0;
       done = 0; qd = 0; rs = 0; rec = 0; all = 0;
       do :: i < NT -> seen[i] = 0; i++ :: else -> break od;
       i = 0;
       do :: i < NT * CAP -> st[i] = 0; i++ :: else -> break od;
       i = 0
     }
  od
}

/* persister/persister.go settleTrials: once the taskset has ended, a
 * trial still running whose slave's heartbeat is gone, or that runs past
 * SettleWait (a choice here), is recorded as error (finish_trial.lua);
 * the arbiter no longer looks at a taskset that ended */
proctype Persister() {
  byte i, k;
  bool rec;
  ts != RUNNING;
end_wait:
  do
  :: nrun == 0 -> break
  :: else ->
     atomic {
       i = 0;
       do
       :: i < NT * CAP && !(tst[i] == TRUN && !alive[tsl[i]]) -> i++
       :: i < NT * CAP && tst[i] == TRUN && !alive[tsl[i]] -> break
       :: i < NT * CAP && tst[i] == TRUN -> break    /* SettleWait is over */
       :: i == NT * CAP -> break
       od
     };
     if
     :: i < NT * CAP -> finish_trial(i / CAP, i % CAP, TFAIL, rec); rec = 0
     :: else
     fi;
     i = 0
  od
}

/* the client (rrr cancel) and the worker (setup failed): stop_taskset.lua */
proctype Client() {
  byte k, np, nf, nr;
  if
  :: CANCEL -> d_step { if :: ts == RUNNING -> close_taskset(CANCELLED) :: else fi; invariants(); k = 0; np = 0; nf = 0; nr = 0 }
  :: CANCEL -> d_step { if :: ts == RUNNING -> close_taskset(FAILED) :: else fi; invariants(); k = 0; np = 0; nf = 0; nr = 0 }
  :: true
  fi
}

init {
  /* create_taskset.lua */
  atomic {
    byte i = 0;
    do :: i < NT -> left[i] = 1; queued[i] = 1; i++ :: else -> break od;
    quar[0] = QUAR;
    i = 0;
    run Slave(0); run Slave(1);
    run Client();
#if PERSIST
    run Persister();
#endif
    i = 0;
    do :: i < NA -> run Arbiter(); i++ :: else -> break od;
    i = 0
  }
}

/* the taskset ends, and then no trial is running (weak fairness) */
ltl ends { <> (ts != RUNNING && nrun == 0) }
