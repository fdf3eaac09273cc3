/**
 * The database's types for supabase-js: the generated file (types/database.types.ts, by
 * Supabase's postgres-meta, `make types`) merged with the result types of the RPCs, which
 * return `jsonb` and are generated as `Json`. This is the `MergeDeep` override Supabase's
 * documentation recommends for JSON columns.
 *
 * They cannot drift from the SQL unnoticed: `RpcResults` must name every RPC of every
 * exposed schema (tsc fails on a new or renamed one), and app.test.ts compares the keys of
 * every object the RPCs return with these types' keys at run time (`assertKeys`).
 */
import type { MergeDeep } from 'type-fest'
import type { Database as Generated } from '../../../types/database.types.js'

export type { Json } from '../../../types/database.types.js'

// ---------------------------------------------------------------------------------------
// pullups (camelCase DTOs in a {data, meta} envelope, as seeds 000/003 define them)
// ---------------------------------------------------------------------------------------
export type PullupStatus = 'planned' | 'in_progress' | 'completed' | 'failed'
export type PullupSession = {
  id: string
  sessionDate: string
  status: PullupStatus
  sets: number[]
  totalReps: number
  rpe: number | null
  notes: string | null
  aiComment: string | null
  isAiGenerated: boolean
  isModified: boolean
  startedAt: string | null
  finishedAt: string | null
  createdAt: string
  updatedAt: string
}
export type Pagination = {
  limit: number
  offset: number
  total: number // exact up to 1,000 rows past offset; a lower bound when total_capped
  total_capped: boolean
}
export type Quota = { used: number; limit: number; remaining: number; resetsAt: string | null }
export type Generation = {
  id: string
  model: string
  status: 'pending' | 'success' | 'error' | 'timeout'
  sessionId: string | null
  durationMs: number | null
  createdAt: string
  finishedAt: string | null
}
type SessionEnvelope = { data: { session: PullupSession }; meta: { warnings?: string[] } }

// ---------------------------------------------------------------------------------------
// workouts (snake_case, seed 004)
// ---------------------------------------------------------------------------------------
export type WorkoutSet = {
  planned_reps: number
  planned_weight: number | null
  actual_reps: number | null
  actual_weight: number | null
  rest_seconds: number | null
  completed: boolean
}
export type SessionStructure = {
  plan_name: string
  day_name: string
  date: string
  exercises: { name: string; sets: WorkoutSet[] }[]
}
export type WorkoutSession = {
  id: string
  plan_id: string | null
  date: string
  session: SessionStructure
  started_at: string
  ended_at: string | null
  completed: boolean
  created_at: string
  updated_at: string
}
export type WorkoutSessionSummary = Omit<WorkoutSession, 'session'> & {
  plan_name: string | null
  day_name: string | null
}
export type Plan = {
  id: string
  name: string
  description: string | null
  plan: { days: unknown[] }
  archived: boolean
  has_sessions: boolean
  created_at: string
  updated_at: string
}

// ---------------------------------------------------------------------------------------
// flashcards (snake_case, seed 001)
// ---------------------------------------------------------------------------------------
export type AiSession = {
  id: string
  model: string
  status: 'pending' | 'completed' | 'failed'
  input_length: number
  candidates_count: number
  accepted_unedited_count: number
  accepted_edited_count: number
  rejected_count: number
  duration_ms: number | null
  error_code: string | null
  created_at: string
  finished_at: string | null
}
export type Candidate = {
  id: string
  position: number
  front: string
  back: string
  prompt: string | null
  status: 'pending' | 'accepted' | 'edited' | 'rejected'
  reviewed_at: string | null
  flashcard_id: string | null
}
export type Flashcard = {
  id: string
  front: string
  back: string
  source: 'manual' | 'ai' | 'ai_edited'
  session_id: string | null
  candidate_id: string | null
  created_at: string
  updated_at: string
}
export type ReviewAction =
  | { candidate_id: string; action: 'accept' | 'reject' }
  | { candidate_id: string; action: 'edit'; front: string; back: string }

/** What each RPC returns (the `Returns` that replace the generated `Json`). */
type RpcResults = {
  pullups: {
    get_session: SessionEnvelope
    list_sessions: { data: { sessions: PullupSession[] }; meta: { pagination: Pagination } }
    create_session: SessionEnvelope
    start_session: SessionEnvelope
    complete_session: SessionEnvelope
    fail_session: SessionEnvelope
    update_session: SessionEnvelope
    delete_session: undefined
    ai_quota: { data: Quota; meta: Record<string, never> }
    begin_generation: { generation_id: string }
    finish_generation: unknown
  }
  workouts: {
    get_session: WorkoutSession
    list_sessions: { data: WorkoutSessionSummary[]; pagination: Pagination }
    start_session: WorkoutSession
    update_session: WorkoutSession
    complete_session: WorkoutSession
    create_plan: Plan
    get_plan: Plan
    list_plans: { data: Plan[]; pagination: Pagination }
    update_plan: Plan
    delete_plan: undefined
  }
  flashcards: {
    list_ai_sessions: { data: AiSession[]; pagination: Pagination }
    get_ai_session: {
      data: { session: AiSession; candidates: Candidate[]; input_text: string }
    }
    review_candidates: {
      data: { session: AiSession; flashcards: Flashcard[] }
      meta: { accepted: number; edited: number; rejected: number }
    }
    list_flashcards: { data: Flashcard[]; pagination: Pagination }
    create_flashcards: { data: Flashcard[] }
    update_flashcard: { data: Flashcard }
    delete_flashcards: { data: { deleted: number } }
    begin_ai_session: unknown
    finish_ai_session: unknown
  }
  recipes: {
    begin_draft: unknown
    finish_draft: unknown
  }
}

type Schemas = 'pullups' | 'workouts' | 'flashcards' | 'recipes'
// Every RPC has a result type, and every named one exists: a new, renamed or dropped RPC
// fails to compile here.
type Exact<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
const _everyRpcHasAResultType: {
  [S in Schemas]: Exact<keyof Generated[S]['Functions'], keyof RpcResults[S]>
} = { pullups: true, workouts: true, flashcards: true, recipes: true }
void _everyRpcHasAResultType

type Overrides = {
  [S in Schemas]: {
    Functions: { [F in keyof RpcResults[S]]: { Returns: RpcResults[S][F] } }
  }
}

export type Database = MergeDeep<Generated, Overrides>

// ---------------------------------------------------------------------------------------
// AI routes (functions.invoke)
// ---------------------------------------------------------------------------------------
export type GeneratedSession = {
  data: { session: PullupSession; generation: Generation }
  meta: { quota: Quota; warnings: string[] }
}
export type FlashcardCandidates = {
  id: string
  candidates: { id: string; front: string; back: string; prompt: string | null }[]
}
export type RecipeDraft = {
  draft: {
    name: string
    description: string | null
    ingredients_raw: string
    steps_raw: string
    category_name: string | null
    tags: string[]
  }
  meta: { confidence: number; warnings: string[] }
}
/** The one error body of every route and RPC; the AI routes' also repeat the message as
 *  `error`, the key supabase-py reads from a function's error. */
export type ApiError = {
  code: string; message: string; details: unknown; hint: string | null; error?: string
}
