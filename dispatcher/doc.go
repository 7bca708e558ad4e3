// Package dispatcher is the loop that gives tasksets to workers. It wakes on
// a token pushed onto the dispatcher queue (a taskset was created, a worker
// joined or left) and every Interval as a safety net, and then makes a
// round:
//
//  1. every known worker whose heartbeat expired is removed with its keys
//     (remove_worker), and the arbiter is asked to check the taskset it
//     held, so that the trials of its slaves are recovered;
//  2. every active taskset, oldest first, is offered to each live idle
//     worker of its worker_type until the dispatch script answers that the
//     taskset is full (max_workers) or stopped.
//
// The dispatch script sets the worker's taskset and the taskset's assigned
// set in one step, so a worker never gets two tasksets and a taskset never
// exceeds max_workers, however many dispatchers run at once.
package dispatcher
