export {
  enqueueJob,
  claimNextJob,
  renewJobLease,
  lockClaimedJob,
  markJobDone,
  recordJobFailure,
  jobRetryDelayMs,
  countJobs,
  jobKinds,
  jobsChannel,
  type ClaimedJob,
  type JobKind,
  type JobStatus,
  type JobCounts,
} from './job-repo.js';
export { createJobWorker, startJobWorker, type JobWorker, type JobHandler, type JobOutcome, type JobWorkerOptions } from './job-worker.js';
export { backgroundSettingsFor, type BackgroundSettings } from './background-settings.js';
