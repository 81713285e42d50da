/**
 * Short names for the generated schema types (`api-schema.d.ts`). Aliases only:
 * every shape here comes from the server's OpenAPI document.
 */
import type { components } from './api-schema';

type Schemas = components['schemas'];

export type Image = Schemas['Image'];
export type ImageCreate = Schemas['ImageCreate'];
export type ImageDefaults = Schemas['ImageDefaults'];
export type ImageUpdate = Schemas['ImageUpdate'];
export type ImagePage = Schemas['ImagePage'];
export type ImageStatus = Schemas['ImageStatus'];
export type FileEntry = Schemas['FileEntry'];

export type Script = Schemas['Script'];
export type ScriptCreate = Schemas['ScriptCreate'];
export type ScriptUpdate = Schemas['ScriptUpdate'];
export type ScriptPage = Schemas['ScriptPage'];
export type EnvVarOut = Schemas['EnvVarOut'];
export type EnvVarIn = Schemas['EnvVarIn'];
export type Limits = Schemas['Limits'];
export type NetworkMode = Schemas['NetworkMode'];
export type RevisionSummary = Schemas['RevisionSummary'];
export type Revision = Schemas['Revision'];
export type RevisionFile = Schemas['RevisionFile'];

export type Job = Schemas['Job'];
export type JobPage = Schemas['JobPage'];
export type JobStatus = Schemas['JobStatus'];
export type JobTrigger = Schemas['JobTrigger'];
export type RunRequest = Schemas['RunRequest'];

export type Schedule = Schemas['Schedule'];
export type ScheduleCreate = Schemas['ScheduleCreate'];
export type ScheduleUpdate = Schemas['ScheduleUpdate'];
export type ScheduleFiring = Schemas['Firing'];
export type FiringPage = Schemas['FiringPage'];
export type FireTime = Schemas['FireTime'];
export type PreviewResult = Schemas['PreviewResult'];
export type UpcomingScheduledRun = Schemas['UpcomingScheduledRun'];
export type MisfirePolicy = Schemas['MisfirePolicy'];
export type OverlapPolicy = Schemas['OverlapPolicy'];

export type Session = Schemas['Session'];
