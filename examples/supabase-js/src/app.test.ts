/**
 * What a supabase-js app does against this backend, asserted on what supabase-js returns
 * (`data`, `error.code/message/details/hint`, `status`). `make test` runs it against the
 * local API it starts (tests/test_supabase_js.py); by hand, against `make run`:
 *
 *   SUPABASE_URL=http://127.0.0.1:54321 SUPABASE_ANON_KEY=... SUPABASE_SERVICE_ROLE_KEY=... \
 *   SUPABASE_PUBLISHABLE_KEY=... SUPABASE_SECRET_KEY=... npm test
 *
 * The README's supabase-js snippets are taken from this file.
 */
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { describe, test } from 'node:test'
import {
  createClient, FunctionsHttpError, isAuthWeakPasswordError, type SupabaseClient,
} from '@supabase/supabase-js'
import { MailpitClient } from 'mailpit-api'
import type {
  AiSession, ApiError, Candidate, Database, Flashcard, FlashcardCandidates, Generation,
  GeneratedSession, Plan, PullupSession, Quota, RecipeDraft, SessionStructure,
  WorkoutSession, WorkoutSessionSummary,
} from './database.js'

const SUPABASE_URL = required('SUPABASE_URL')
const SUPABASE_ANON_KEY = required('SUPABASE_ANON_KEY')
const EMAIL_DOMAIN = process.env.EMAIL_DOMAIN ?? 'example.com'
const MODEL = process.env.AI_MODEL ?? 'local/rules'
// where Auth's mail is read: make run's mail catcher, as supabase start's Mailpit
const MAILPIT_URL = process.env.MAILPIT_URL ?? 'http://127.0.0.1:54324'
const PASSWORD = 'a-long-enough-password'
// compiled to dist/examples/supabase-js/src/: five levels up is the repository's examples/
const EXAMPLES = new URL('../../../../../', import.meta.url)

function required(name: string): string {
  const value = process.env[name]
  if (!value) throw new Error(`${name} is not set`)
  return value
}

type Client = SupabaseClient<Database>

function newClient(): Client {
  return createClient<Database>(SUPABASE_URL, SUPABASE_ANON_KEY, {
    auth: { persistSession: false, autoRefreshToken: false },
  })
}

/** A new user, signed up and signed in on its own client. */
async function signedUp(name: string): Promise<{ supabase: Client; email: string }> {
  const supabase = newClient()
  const email = `${name}-${randomUUID().slice(0, 8)}@${EMAIL_DOMAIN}`
  const { data, error } = await supabase.auth.signUp({ email, password: PASSWORD })
  assert.equal(error, null)
  assert.ok(data.session, 'confirmations are off locally: sign-up signs in')
  return { supabase, email }
}

/** The link in the newest mail to `address`, read as a test reads Mailpit on `supabase start`. */
async function mailedLink(address: string): Promise<string> {
  const mail = await new MailpitClient(MAILPIT_URL).waitForMessage({ query: `to:${address}` })
  const link = /href="([^"]+)"/.exec(mail.HTML)?.[1]?.replaceAll('&amp;', '&')
  assert.ok(link, mail.HTML)
  return link
}

/** Keys of a result against its declared type: a field added or dropped in SQL fails here
 * (the `Record<keyof T, true>` literals below fail to compile when the type changes). */
function assertKeys<T extends object>(value: T, keys: Record<keyof T, true>): void {
  assert.deepEqual(Object.keys(value).sort(), Object.keys(keys).sort())
}

const SESSION_KEYS: Record<keyof PullupSession, true> = {
  id: true, sessionDate: true, status: true, sets: true, totalReps: true, rpe: true,
  notes: true, aiComment: true, isAiGenerated: true, isModified: true, startedAt: true,
  finishedAt: true, createdAt: true, updatedAt: true,
}
const QUOTA_KEYS: Record<keyof Quota, true> = { used: true, limit: true, remaining: true,
  resetsAt: true }
const GENERATION_KEYS: Record<keyof Generation, true> = {
  id: true, model: true, status: true, sessionId: true, durationMs: true, createdAt: true,
  finishedAt: true,
}
const PLAN_KEYS: Record<keyof Plan, true> = {
  id: true, name: true, description: true, plan: true, archived: true, has_sessions: true,
  created_at: true, updated_at: true,
}
const WORKOUT_KEYS: Record<keyof WorkoutSession, true> = {
  id: true, plan_id: true, date: true, session: true, started_at: true, ended_at: true,
  completed: true, created_at: true, updated_at: true,
}
const SUMMARY_KEYS: Record<keyof WorkoutSessionSummary, true> = {
  id: true, plan_id: true, date: true, plan_name: true, day_name: true, started_at: true,
  ended_at: true, completed: true, created_at: true, updated_at: true,
}
const AI_SESSION_KEYS: Record<keyof AiSession, true> = {
  id: true, model: true, status: true, input_length: true, candidates_count: true,
  accepted_unedited_count: true, accepted_edited_count: true, rejected_count: true,
  duration_ms: true, error_code: true, created_at: true, finished_at: true,
}
const CANDIDATE_KEYS: Record<keyof Candidate, true> = {
  id: true, position: true, front: true, back: true, prompt: true, status: true,
  reviewed_at: true, flashcard_id: true,
}
const FLASHCARD_KEYS: Record<keyof Flashcard, true> = {
  id: true, front: true, back: true, source: true, session_id: true, candidate_id: true,
  created_at: true, updated_at: true,
}
const DRAFT_KEYS: Record<keyof RecipeDraft['draft'], true> = {
  name: true, description: true, ingredients_raw: true, steps_raw: true, category_name: true,
  tags: true,
}

/** The shared error body of a failed functions.invoke, and its status. */
async function invokeError(error: unknown): Promise<{ status: number; body: ApiError;
                                                      headers: Headers }> {
  assert.ok(error instanceof FunctionsHttpError, `expected an HTTP error, got ${error}`)
  const response = error.context as Response
  return { status: response.status, body: (await response.json()) as ApiError,
           headers: response.headers }
}

function isoDay(offsetDays = 0): string {
  return new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10)
}

describe('auth', () => {
  test('sign up, sign in with the password, read the user, sign out', async () => {
    const { supabase, email } = await signedUp('auth')
    const other = newClient()
    const signedIn = await other.auth.signInWithPassword({ email, password: PASSWORD })
    assert.equal(signedIn.error, null)
    assert.equal(signedIn.data.user?.email, email)
    const { data: { user } } = await other.auth.getUser()
    assert.equal(user?.email, email)
    const refreshed = await other.auth.refreshSession()
    assert.equal(refreshed.error, null)
    assert.notEqual(refreshed.data.session?.refresh_token, signedIn.data.session?.refresh_token)
    assert.equal((await other.auth.signOut()).error, null)
    // a global sign-out ended this client's session too: getUser() says so and signs it out
    const ended = await supabase.auth.getUser()
    assert.equal(ended.error?.name, 'AuthSessionMissingError')
    assert.equal((await supabase.auth.getSession()).data.session, null)
    assert.equal((await supabase.auth.signOut()).error, null)
  })

  test('a wrong password is invalid_credentials', async () => {
    const { email } = await signedUp('wrong')
    const { data, error } = await newClient().auth.signInWithPassword({
      email, password: 'not-the-password' })
    assert.equal(data.session, null)
    assert.equal(error?.status, 400)
    assert.equal(error?.code, 'invalid_credentials')
    assert.equal(error?.message, 'Invalid login credentials')
  })

  test('a short password is weak_password, an AuthWeakPasswordError with its reasons', async () => {
    const { error } = await newClient().auth.signUp({
      email: `short-${randomUUID().slice(0, 8)}@${EMAIL_DOMAIN}`, password: '123' })
    assert.equal(error?.code, 'weak_password')
    assert.equal(error?.status, 422)
    assert.ok(isAuthWeakPasswordError(error))
    assert.deepEqual(error.reasons, ['length'])
  })

  test('anonymous sign-ins are off, as supabase/config.toml leaves them', async () => {
    const { data, error } = await newClient().auth.signInAnonymously()
    assert.equal(data.session, null)
    assert.equal(error?.code, 'anonymous_provider_disabled')
    assert.equal(error?.status, 422)
  })

  test('updateUser: metadata, a new password and a new email confirmed by its mailed link', async () => {
    const { supabase, email } = await signedUp('update')
    const named = await supabase.auth.updateUser({ data: { displayName: 'Ala', draft: 1 } })
    assert.equal(named.error, null)
    const unnamed = await supabase.auth.updateUser({ data: { draft: null } })
    assert.deepEqual(unnamed.data.user?.user_metadata, { displayName: 'Ala' })

    const same = await supabase.auth.updateUser({ password: PASSWORD })
    assert.equal(same.error?.code, 'same_password')
    assert.equal((await supabase.auth.updateUser({ password: 'a-new-password' })).error, null)
    const old = await newClient().auth.signInWithPassword({ email, password: PASSWORD })
    assert.equal(old.error?.code, 'invalid_credentials')
    const renewed = await newClient().auth.signInWithPassword({ email, password: 'a-new-password' })
    assert.equal(renewed.error, null)
    assert.deepEqual(renewed.data.user?.user_metadata, { displayName: 'Ala' })

    // a new email: a link to each address, and with the CLI's settings either one confirms it
    const moved = `moved-${email}`
    const changing = await supabase.auth.updateUser({ email: moved })
    assert.equal(changing.error, null)
    assert.equal(changing.data.user?.new_email, moved)
    const opened = await fetch(await mailedLink(moved), { redirect: 'manual' })
    const fragment = new URLSearchParams(new URL(opened.headers.get('location') ?? '').hash.slice(1))
    assert.equal(fragment.get('type'), 'email_change')
    assert.equal((await supabase.auth.getUser()).data.user?.email, moved)
    // manual linking is off in the CLI's template, as GoTrue then answers
    const linked = await supabase.auth.linkIdentity({ provider: 'github' })
    assert.equal(linked.error?.code, 'manual_linking_disabled')
    // nor does the CLI turn SAML on
    const sso = await supabase.auth.signInWithSSO({ domain: 'example.com' })
    assert.equal(sso.error?.code, 'saml_provider_disabled')
  })

  test('tables through RLS, as PostgREST reads and writes them', async () => {
    const { supabase } = await signedUp('tables')
    const flashcards = supabase.schema('flashcards')
    const created = await flashcards.rpc('create_flashcards', { items: [
      { front: 'one', back: '1' }, { front: 'two', back: '2' }, { front: 'three', back: '3' }] })
    assert.equal(created.status, 201)
    // only the caller's rows (the seeded users have cards too), a page of them counted
    const page = await flashcards.from('flashcards')
      .select('front, back', { count: 'exact' }).order('front').range(0, 1)
    assert.equal(page.error, null)
    assert.equal(page.status, 206)
    assert.equal(page.count, 3)
    assert.deepEqual(page.data, [{ front: 'one', back: '1' }, { front: 'three', back: '3' }])
    const one = await flashcards.from('flashcards').select('front').eq('back', '2').single()
    assert.deepEqual(one.data, { front: 'two' })
    // a related table by its foreign key (typed from the generated relationships)
    const embedded = await flashcards.from('flashcards')
      .select('front, session:ai_generation_sessions(status)').eq('front', 'one').single()
    assert.deepEqual(embedded.data, { front: 'one', session: null })
    const ordered = await flashcards.from('ai_generation_sessions')
      .select('candidates(position)').order('position', { referencedTable: 'candidates' })
      .limit(1, { referencedTable: 'candidates' })
    assert.deepEqual(ordered.data, [])
    const onlyAi = await flashcards.from('flashcards')
      .select('front, ai_generation_sessions!inner(status)')
    assert.deepEqual(onlyAi.data, [])
    const some = await flashcards.from('flashcards').select('front')
      .or('front.eq.one,back.in.(2,9)').not('front', 'like', 't*o').order('front')
    assert.deepEqual(some.data, [{ front: 'one' }])
    const counted = await flashcards.from('flashcards').select('*', { count: 'exact', head: true })
    assert.equal(counted.count, 3)
    assert.equal(counted.data, null)
    const found = await flashcards.from('flashcards').select('front')
      .textSearch('back', '2 | 3', { config: 'simple' }).in('front', ['two', 'a, b', 'three'])
      .order('front', { ascending: false, nullsFirst: true })
    assert.deepEqual(found.data, [{ front: 'two' }, { front: 'three' }])
    const pullups = supabase.schema('pullups')
    assert.equal((await pullups.from('sessions').select('id, status')).data?.length, 0)
    await pullups.rpc('create_session', {
      session_date: new Date().toISOString().slice(0, 10), sets: [5, 5, 4, 4, 3] })
    const withFives = await pullups.from('sessions').select('sets, status')
      .contains('sets', [5, 4]).not('rpe', 'is', null).maybeSingle()
    assert.equal(withFives.data, null)
    const planned = await pullups.from('sessions').select('sets, status')
      .contains('sets', [5, 4]).is('rpe', null).maybeSingle()
    assert.deepEqual(planned.data, { sets: [5, 5, 4, 4, 3], status: 'planned' })
    // cards are written through the RPCs only: the table refuses the role, as on Supabase
    const written = await flashcards.from('flashcards').insert({ front: 'x', back: 'y' } as never)
    assert.equal(written.status, 403)
    assert.equal(written.error?.code, '42501')
    // plans are the one table with owner CRUD
    const plans = supabase.schema('workouts').from('plans')
    const inserted = await plans.insert({ name: 'Legs' }).select('id, name, plan').single()
    assert.equal(inserted.status, 201)
    assert.deepEqual(inserted.data?.plan, { days: [] })
    const renamed = await plans.update({ name: 'Legs day' }).eq('id', inserted.data!.id)
      .select('name')
    assert.deepEqual(renamed.data, [{ name: 'Legs day' }])
    const deleted = await plans.delete({ count: 'exact' }).eq('id', inserted.data!.id)
    assert.equal(deleted.status, 204)
    assert.equal(deleted.count, 1)
    // a bulk insert names the union of its keys (`columns`): a row that lacks one gets
    // null, unless `defaultToNull: false` (Prefer: missing=default) gives the column default
    const rows = [{ name: 'Push', archived: true }, { name: 'Pull' }]
    const nulls = await plans.insert(rows)
    assert.equal(nulls.error?.code, '23502') // archived is not null
    const defaults = await plans.insert(rows, { defaultToNull: false }).select('name, archived')
    assert.equal(defaults.status, 201)
    assert.deepEqual(defaults.data, [{ name: 'Push', archived: true },
      { name: 'Pull', archived: false }])
    // `upsert()` resolves on the primary key, which no client may write here: without an id
    // it inserts; with one, Postgres refuses the column, as on Supabase
    const upserted = await plans.upsert({ name: 'Upper' }).select('name')
    assert.equal(upserted.status, 201)
    assert.deepEqual(upserted.data, [{ name: 'Upper' }])
    const byId = await plans.upsert({ id: inserted.data!.id, name: 'Taken' })
    assert.equal(byId.status, 403)
    assert.equal(byId.error?.code, '42501')
    await plans.delete().in('name', ['Push', 'Pull', 'Upper'])
  })

  test('a server seeds and removes users with the admin API (service role key)', async () => {
    const admin = createClient<Database>(SUPABASE_URL, required('SUPABASE_SERVICE_ROLE_KEY'), {
      auth: { persistSession: false, autoRefreshToken: false },
    }).auth.admin
    const email = `seeded-${randomUUID().slice(0, 8)}@${EMAIL_DOMAIN}`
    const created = await admin.createUser({
      email, password: PASSWORD, email_confirm: true, user_metadata: { full_name: 'Seeded' } })
    assert.equal(created.error, null)
    const user = created.data.user!
    assert.deepEqual(user.user_metadata, { full_name: 'Seeded' })
    const signedIn = await newClient().auth.signInWithPassword({ email, password: PASSWORD })
    assert.equal(signedIn.data.user?.id, user.id)
    assert.equal(signedIn.data.weakPassword, undefined)
    // the admin API checks no password's strength; signing in with a weak one says so
    const weak = await admin.createUser({
      email: `weak-${randomUUID().slice(0, 8)}@${EMAIL_DOMAIN}`, password: '1234',
      email_confirm: true })
    assert.equal(weak.error, null)
    const weakIn = await newClient().auth.signInWithPassword({
      email: weak.data.user!.email!, password: '1234' })
    assert.equal(weakIn.error, null)
    assert.ok(weakIn.data.session)
    assert.deepEqual(weakIn.data.weakPassword?.reasons, ['length'])
    assert.equal((await admin.deleteUser(weak.data.user!.id)).error, null)
    const page = await admin.listUsers({ page: 1, perPage: 1 })
    assert.equal(page.error, null)
    assert.equal(page.data.users.length, 1)
    assert.ok(page.data.total >= 1) // from X-Total-Count
    const notAdmin = await newClient().auth.admin.listUsers()
    assert.equal(notAdmin.error?.status, 403)
    assert.equal(notAdmin.error?.code, 'not_admin')
    // MFA enrolling is off in the CLI's template: no user has a factor
    const factors = await admin.mfa.listFactors({ userId: user.id })
    assert.equal(factors.error, null)
    assert.deepEqual(factors.data?.factors, [])
    const noFactor = await admin.mfa.deleteFactor({ userId: user.id, id: randomUUID() })
    assert.equal(noFactor.error?.code, 'mfa_factor_not_found')
    assert.equal((await admin.deleteUser(user.id)).error, null)
    const gone = await admin.getUserById(user.id)
    assert.equal(gone.error?.status, 404)
    assert.equal(gone.error?.code, 'user_not_found')
  })

  test('a user signs in by the link mailed to them, read through Mailpit\'s API', async () => {
    const email = `otp-${randomUUID().slice(0, 8)}@${EMAIL_DOMAIN}`
    const supabase = newClient()
    const { error } = await supabase.auth.signInWithOtp({ email })
    assert.equal(error, null)
    const mailpit = new MailpitClient(MAILPIT_URL)
    // what the browser does with the mailed link: Auth redirects with the session in the fragment
    const opened = await fetch(await mailedLink(email), { redirect: 'manual' })
    assert.equal(opened.status, 303)
    const session = new URLSearchParams(new URL(opened.headers.get('location') ?? '').hash.slice(1))
    const { data, error: refused } = await supabase.auth.setSession({
      access_token: session.get('access_token') ?? '', refresh_token: session.get('refresh_token') ?? '',
    })
    assert.equal(refused, null)
    assert.equal(data.user?.email, email)

    // within [auth.email] max_frequency (1 s) of that link, no second mail of its kind
    const soon = await newClient().auth.resetPasswordForEmail(email)
    assert.equal(soon.error?.code, 'over_email_send_rate_limit')

    // a password reset mails its link; an unknown address is answered alike, and gets nothing
    const { email: forgetful } = await signedUp('reset')
    assert.equal((await newClient().auth.resetPasswordForEmail(forgetful)).error, null)
    const recovery = await mailpit.waitForMessage({ query: `to:${forgetful}` })
    assert.match(recovery.Subject, /password/)
    const unknown = await newClient().auth.resetPasswordForEmail(`nobody-${email}`)
    assert.equal(unknown.error, null)
  })

  test('in the PKCE flow the mailed link gives a code that exchangeCodeForSession trades for a session', async () => {
    const email = `pkce-${randomUUID().slice(0, 8)}@${EMAIL_DOMAIN}`
    const supabase = createClient<Database>(SUPABASE_URL, SUPABASE_ANON_KEY, {
      auth: { persistSession: false, autoRefreshToken: false, flowType: 'pkce' },
    })
    assert.equal((await supabase.auth.signInWithOtp({ email })).error, null)
    const link = await mailedLink(email)
    assert.match(link, /token=pkce_/)
    const opened = await fetch(link, { redirect: 'manual' })
    const code = new URL(opened.headers.get('location') ?? '').searchParams.get('code')
    assert.ok(code)
    const { data, error } = await supabase.auth.exchangeCodeForSession(code)
    assert.equal(error, null)
    assert.equal(data.user?.email, email)
    assert.equal((await supabase.auth.getUser()).data.user?.email, email)
  })

  test('a test signs a user in by an email link\'s code, with no mail (generateLink)', async () => {
    const admin = createClient<Database>(SUPABASE_URL, required('SUPABASE_SERVICE_ROLE_KEY'), {
      auth: { persistSession: false, autoRefreshToken: false },
    }).auth.admin
    const email = `linked-${randomUUID().slice(0, 8)}@${EMAIL_DOMAIN}`
    // a magic link for an unknown address signs them up
    const link = await admin.generateLink({ type: 'magiclink', email })
    assert.equal(link.error, null)
    assert.equal(link.data.properties?.verification_type, 'signup')
    assert.match(link.data.properties!.action_link, /\/auth\/v1\/verify\?token=[0-9a-f]{56}&type=signup&/)
    const supabase = newClient()
    const byCode = await supabase.auth.verifyOtp({
      email, token: link.data.properties!.email_otp, type: 'email' })
    assert.equal(byCode.error, null)
    assert.equal(byCode.data.user?.email, email)
    assert.ok(byCode.data.user?.email_confirmed_at)
    const quota = await supabase.schema('pullups').rpc('ai_quota')
    assert.equal(quota.error, null)
    const spent = await newClient().auth.verifyOtp({
      email, token: link.data.properties!.email_otp, type: 'email' })
    assert.equal(spent.error?.code, 'otp_expired')
    // the hash a server-side confirmation route gets from the link
    const again = await admin.generateLink({ type: 'magiclink', email })
    const byHash = await newClient().auth.verifyOtp({
      token_hash: again.data.properties!.hashed_token, type: 'magiclink' })
    assert.equal(byHash.error, null)
    assert.equal(byHash.data.user?.id, byCode.data.user?.id)
    assert.equal((await admin.deleteUser(byCode.data.user!.id)).error, null)
  })

  test('a project\'s publishable and secret keys in place of the legacy JWT keys', async () => {
    const options = { auth: { persistSession: false, autoRefreshToken: false } }
    const supabase = createClient<Database>(
      SUPABASE_URL, required('SUPABASE_PUBLISHABLE_KEY'), options)
    const anon = await supabase.schema('pullups').rpc('ai_quota')
    assert.equal(anon.status, 401)
    assert.equal(anon.error?.code, '42501')
    const email = `keys-${randomUUID().slice(0, 8)}@${EMAIL_DOMAIN}`
    const signed = await supabase.auth.signUp({ email, password: PASSWORD })
    assert.equal(signed.error, null)
    const quota = await supabase.schema('pullups').rpc('ai_quota')
    assert.equal(quota.error, null)
    assert.equal(quota.data?.data.used, 0)
    const generated = await supabase.functions.invoke<GeneratedSession>('sessions/ai', {
      body: { startNow: false, maxPullups: 8 } })
    assert.equal(generated.error, null)
    assert.equal(generated.data?.meta.quota.used, 1)

    const admin = createClient<Database>(
      SUPABASE_URL, required('SUPABASE_SECRET_KEY'), options).auth.admin
    const found = await admin.getUserById(signed.data.user!.id)
    assert.equal(found.data.user?.email, email)
    const notAdmin = await supabase.auth.admin.listUsers()
    assert.equal(notAdmin.error?.status, 403)
  })

  test('getClaims() checks a session by the project\'s JWKS, without asking Auth', async () => {
    const asked: string[] = []
    const supabase = createClient<Database>(SUPABASE_URL, SUPABASE_ANON_KEY, {
      // a storage key of its own: the JWKS supabase-js caches per key is fetched here
      auth: { persistSession: false, autoRefreshToken: false, storageKey: randomUUID() },
      global: {
        fetch: (input: RequestInfo | URL, init?: RequestInit) => {
          asked.push(new URL(input instanceof Request ? input.url : input).pathname)
          return fetch(input, init)
        },
      },
    })
    const email = `claims-${randomUUID().slice(0, 8)}@${EMAIL_DOMAIN}`
    const signed = await supabase.auth.signUp({ email, password: PASSWORD })
    assert.equal(signed.error, null)
    asked.length = 0
    const { data, error } = await supabase.auth.getClaims()
    assert.equal(error, null)
    assert.equal(data?.header.alg, 'ES256')
    assert.equal(data?.claims.sub, signed.data.user?.id)
    assert.deepEqual(asked, ['/auth/v1/.well-known/jwks.json'])  // not /auth/v1/user
    // the same token with another user's id in it: its signature no longer holds
    const [header, payload, signature] = signed.data.session!.access_token.split('.')
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString())
    const altered = Buffer.from(JSON.stringify({ ...claims, sub: randomUUID() }))
      .toString('base64url')
    const forged = await supabase.auth.getClaims(`${header}.${altered}.${signature}`)
    assert.equal(forged.data, null)
    assert.equal(forged.error?.message, 'Invalid JWT signature')
  })

  test('without signing in, client RPCs are refused (anon)', async () => {
    const { data, error, status } = await newClient().schema('pullups').rpc('ai_quota')
    assert.equal(data, null)
    assert.equal(status, 401)
    assert.equal(error?.code, '42501')
  })
})

describe('pullups', () => {
  test('a session through its lifecycle, every client RPC', async () => {
    const { supabase } = await signedUp('pullups')
    const pullups = supabase.schema('pullups')
    const created = await pullups.rpc('create_session', {
      session_date: isoDay(-1), sets: [5, 5, 4, 4, 3], status: 'completed', rpe: 7 })
    assert.equal(created.error, null)
    assert.equal(created.status, 201)
    assertKeys(created.data!.data.session, SESSION_KEYS)
    assert.equal(created.data!.data.session.totalReps, 21)

    const planned = await pullups.rpc('create_session', {
      session_date: isoDay(), sets: [6, 6, 5, 5, 4] })
    const id = planned.data!.data.session.id
    const edited = await pullups.rpc('update_session', { session_id: id, notes: 'morning' })
    assert.equal(edited.data?.data.session.notes, 'morning')
    const started = await pullups.rpc('start_session', { session_id: id })
    assert.equal(started.data?.data.session.status, 'in_progress')
    const done = await pullups.rpc('complete_session', {
      session_id: id, sets: [6, 6, 6, 5, 5], rpe: 8 })
    assert.equal(done.data?.data.session.status, 'completed')
    assert.equal(done.data?.data.session.totalReps, 28)

    const got = await pullups.rpc('get_session', { session_id: id })
    assert.deepEqual(got.data?.data.session, done.data?.data.session)
    const page = await pullups.rpc('list_sessions', { page_size: 1 }, { get: true })
    assert.equal(page.status, 200)
    assert.deepEqual(page.data?.meta.pagination,
      { limit: 1, offset: 0, total: 2, total_capped: false })
    assert.equal(page.data?.data.sessions[0]?.id, id)

    const failing = await pullups.rpc('create_session', { session_date: isoDay(1),
                                                          sets: [5, 5, 5, 5, 5] })
    const failingId = failing.data!.data.session.id
    await pullups.rpc('start_session', { session_id: failingId })
    const failed = await pullups.rpc('fail_session', { session_id: failingId, reason: 'grip' })
    assert.equal(failed.data?.data.session.status, 'failed')

    const spare = await pullups.rpc('create_session', { session_date: isoDay(2),
                                                        sets: [5, 5, 5, 5, 5] })
    const deleted = await pullups.rpc('delete_session', { session_id: spare.data!.data.session.id })
    assert.equal(deleted.status, 204)
    assert.equal(deleted.error, null)

    const quota = await pullups.rpc('ai_quota')
    assertKeys(quota.data!.data, QUOTA_KEYS)
    assert.equal(quota.data?.data.remaining, 5)
  })

  test('errors a frontend meets: another user\'s row, a wrong status, bad input', async () => {
    const alice = (await signedUp('alice')).supabase.schema('pullups')
    const bob = (await signedUp('bob')).supabase.schema('pullups')
    const created = await alice.rpc('create_session', { session_date: isoDay(-1),
                                                         sets: [5, 5, 4, 4, 3],
                                                         status: 'completed' })
    const id = created.data!.data.session.id

    const foreign = await bob.rpc('get_session', { session_id: id })
    assert.equal(foreign.status, 404)
    assert.equal(foreign.data, null)
    assert.equal(foreign.error?.code, 'NOT_FOUND')
    assert.equal(foreign.error?.message, 'Session not found')

    const wrongStatus = await alice.rpc('start_session', { session_id: id })
    assert.equal(wrongStatus.status, 422)
    assert.equal(wrongStatus.error?.code, 'INVALID_STATUS')

    const invalid = await alice.rpc('create_session', { session_date: 'soon', sets: [1] })
    assert.equal(invalid.status, 400)
    assert.equal(invalid.error?.code, 'VALIDATION_ERROR')
    assert.ok(invalid.error?.details, 'details name the field')
  })

  test('other answer shapes: .single(), .stripNulls(), .csv(); .explain() is off', async () => {
    const pullups = (await signedUp('shapes')).supabase.schema('pullups')
    const plain = await pullups.rpc('ai_quota')
    assert.equal(plain.data?.data.resetsAt, null)

    const single = await pullups.rpc('ai_quota').single()
    assert.equal(single.error, null)
    assert.deepEqual(single.data, plain.data)

    const stripped = await pullups.rpc('ai_quota').stripNulls()
    assert.equal(stripped.error, null)
    assert.equal('resetsAt' in stripped.data!.data, false)
    assert.equal(stripped.data?.data.remaining, 5)

    // PostgREST's CSV of a function's rows: one `pgrst_scalar` column, the jsonb as its text
    const csv = await pullups.rpc('ai_quota').csv()
    assert.equal(csv.error, null)
    const [header, row] = csv.data!.split('\n')
    assert.equal(header, 'pgrst_scalar')
    assert.deepEqual(JSON.parse(row!.slice(1, -1).replaceAll('""', '"')), plain.data)

    // .select() and .limit() go in the query string, which is not taken for arguments
    const chained = await pullups.rpc('list_sessions', { page_size: 1 }, { get: true })
      .select().limit(5)
    assert.equal(chained.error, null)
    assert.equal(chained.status, 200)

    // Supabase leaves db-plan-enabled off: no media type is left to answer with
    const explained = await pullups.rpc('ai_quota').explain()
    assert.equal(explained.status, 406)
    assert.equal(explained.error?.code, 'PGRST107')
  })

  test('an AI session through functions.invoke, until the daily quota is spent', async () => {
    const { supabase } = await signedUp('coach')
    const first = await supabase.functions.invoke<GeneratedSession>('sessions/ai', {
      body: { startNow: false, maxPullups: 8 } })
    assert.equal(first.error, null)
    const generated = first.data!
    assertKeys(generated.data.session, SESSION_KEYS)
    assertKeys(generated.data.generation, GENERATION_KEYS)
    assert.equal(generated.data.session.isAiGenerated, true)
    assert.equal(generated.meta.quota.used, 1)

    const conflict = await supabase.functions.invoke('sessions/ai', { body: { startNow: false } })
    assert.equal((await invokeError(conflict.error)).body.code, 'ACTIVE_SESSION_CONFLICT')

    const pullups = supabase.schema('pullups')
    await pullups.rpc('delete_session', { session_id: generated.data.session.id })
    for (let used = 2; used <= 5; used++) {
      const next = await supabase.functions.invoke<GeneratedSession>('sessions/ai', {
        body: { startNow: false, maxPullups: 8 } })
      assert.equal(next.data?.meta.quota.used, used)
      await pullups.rpc('delete_session', { session_id: next.data!.data.session.id })
    }
    const spent = await invokeError((await supabase.functions.invoke('sessions/ai', {
      body: { startNow: false, maxPullups: 8 } })).error)
    assert.equal(spent.status, 403)
    assert.equal(spent.body.code, 'AI_LIMIT_REACHED')
  })
})

describe('workouts', () => {
  const structure: SessionStructure = {
    plan_name: 'Push / Pull', day_name: 'Push', date: isoDay(),
    exercises: [{ name: 'Bench press', sets: [{ planned_reps: 8, planned_weight: 60,
      actual_reps: null, actual_weight: null, rest_seconds: 120, completed: false }] }],
  }

  test('plans and a session trained from one, through RPCs alone', async () => {
    const workouts = (await signedUp('lifter')).supabase.schema('workouts')
    const plan = await workouts.rpc('create_plan', {
      name: 'Push / Pull', plan: { days: [{ name: 'Push', exercises: [] }] } })
    assert.equal(plan.status, 201)
    assertKeys(plan.data!, PLAN_KEYS)
    const planId = plan.data!.id
    assert.equal((await workouts.rpc('get_plan', { id: planId })).data?.name, 'Push / Pull')
    const renamed = await workouts.rpc('update_plan', { id: planId, name: 'Push day' })
    assert.equal(renamed.data?.name, 'Push day')

    const started = await workouts.rpc('start_session', {
      plan_id: planId, date: isoDay(), session: structure })
    assert.equal(started.status, 201)
    assertKeys(started.data!, WORKOUT_KEYS)
    const again = await workouts.rpc('start_session', {
      plan_id: planId, date: isoDay(), session: structure })
    assert.equal(again.status, 409)
    assert.equal(again.error?.code, 'ACTIVE_SESSION_CONFLICT')

    const id = started.data!.id
    const trained = structure.exercises.map((e) => ({ ...e, sets: e.sets.map((s) => ({
      ...s, actual_reps: 8, actual_weight: 60, completed: true })) }))
    const updated = await workouts.rpc('update_session', {
      id, session: { ...structure, exercises: trained } })
    assert.equal(updated.data?.session.exercises[0]?.sets[0]?.actual_reps, 8)
    const completed = await workouts.rpc('complete_session', { id })
    assert.equal(completed.data?.completed, true)
    const edit = await workouts.rpc('update_session', { id, session: structure })
    assert.equal(edit.status, 400)
    assert.equal(edit.error?.code, 'SESSION_COMPLETED')

    assert.deepEqual((await workouts.rpc('get_session', { id })).data, completed.data)
    const listed = await workouts.rpc('list_sessions', { plan_id: planId })
    assertKeys(listed.data!.data[0]!, SUMMARY_KEYS)
    assert.equal(listed.data?.pagination.total, 1)
    const plans = await workouts.rpc('list_plans', {}, { get: true })
    assert.equal(plans.data?.data[0]?.has_sessions, true)

    const deleted = await workouts.rpc('delete_plan', { id: planId })
    assert.equal(deleted.status, 204)
    assert.equal((await workouts.rpc('get_plan', { id: planId })).error?.code, 'NOT_FOUND')
  })
})

describe('flashcards', () => {
  const studyText = readFileSync(new URL('flashcards/study-text.txt', EXAMPLES), 'utf8')

  test('candidates from the AI, reviewed into the deck, the deck edited', async () => {
    const { supabase } = await signedUp('student')
    const generated = await supabase.functions.invoke<FlashcardCandidates>('ai-sessions', {
      body: { input_text: studyText, model: MODEL } })
    assert.equal(generated.error, null)
    const { id, candidates } = generated.data!
    assert.ok(candidates.length >= 3, 'the sample text gives several candidates')

    const flashcards = supabase.schema('flashcards')
    const session = await flashcards.rpc('get_ai_session', { session_id: id })
    assertKeys(session.data!.data.session, AI_SESSION_KEYS)
    assertKeys(session.data!.data.candidates[0]!, CANDIDATE_KEYS)

    const [accept, edit, reject] = candidates
    const reviewed = await flashcards.rpc('review_candidates', { session_id: id, actions: [
      { candidate_id: accept!.id, action: 'accept' },
      { candidate_id: edit!.id, action: 'edit', front: 'Edited?', back: 'Edited.' },
      { candidate_id: reject!.id, action: 'reject' },
    ] })
    assert.equal(reviewed.error, null)
    assert.deepEqual(reviewed.data?.meta, { accepted: 1, edited: 1, rejected: 1 })
    assertKeys(reviewed.data!.data.flashcards[0]!, FLASHCARD_KEYS)
    const twice = await flashcards.rpc('review_candidates', { session_id: id, actions: [
      { candidate_id: accept!.id, action: 'accept' }] })
    assert.equal(twice.status, 409)
    assert.equal(twice.error?.code, 'CANDIDATE_ALREADY_REVIEWED')

    const manual = await flashcards.rpc('create_flashcards', {
      items: [{ front: 'Q', back: 'A' }] })
    assert.equal(manual.status, 201)
    const cardId = manual.data!.data[0]!.id
    const changed = await flashcards.rpc('update_flashcard', { id: cardId, back: 'A!' })
    assert.equal(changed.data?.data.back, 'A!')
    const deck = await flashcards.rpc('list_flashcards', { page_size: 10 })
    assert.equal(deck.data?.pagination.total, 3)
    const removed = await flashcards.rpc('delete_flashcards', { ids: [cardId] })
    assert.equal(removed.data?.data.deleted, 1)
    const history = await flashcards.rpc('list_ai_sessions', {}, { get: true })
    assert.equal(history.data?.data[0]?.accepted_edited_count, 1)
  })

  test('generations are rate limited: 429 RATE_LIMITED with Retry-After', async () => {
    const { supabase } = await signedUp('crammer')
    for (let i = 0; i < 10; i++) {
      const ok = await supabase.functions.invoke('ai-sessions', {
        body: { input_text: studyText, model: MODEL } })
      assert.equal(ok.error, null)
    }
    const limited = await invokeError((await supabase.functions.invoke('ai-sessions', {
      body: { input_text: studyText, model: MODEL } })).error)
    assert.equal(limited.status, 429)
    assert.equal(limited.body.code, 'RATE_LIMITED')
    assert.ok(Number(limited.headers.get('retry-after')) > 0)
  })
})

describe('recipes', () => {
  test('a draft from a recipe text, and the answer for a text that is not one', async () => {
    const { supabase } = await signedUp('cook')
    const text = readFileSync(new URL('recipes/placki.txt', EXAMPLES), 'utf8')
    const drafted = await supabase.functions.invoke<RecipeDraft>('ai/recipes/draft', {
      body: { source: 'text', text, output_format: 'pycha_recipe_draft_v1', language: 'pl' } })
    assert.equal(drafted.error, null)
    assertKeys(drafted.data!.draft, DRAFT_KEYS)
    assert.equal(drafted.data?.draft.name, 'Placki ziemniaczane')

    const notOne = await invokeError((await supabase.functions.invoke('ai/recipes/draft', {
      body: { source: 'text', text: 'Just a shopping list: milk, bread.',
              output_format: 'pycha_recipe_draft_v1', language: 'pl' } })).error)
    assert.equal(notOne.status, 422)
    assert.equal(notOne.body.code, 'NOT_A_SINGLE_RECIPE')
  })
})
