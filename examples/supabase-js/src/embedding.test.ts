/**
 * supabase-js as the judge of what the local API serves beyond this project's own schemas:
 * embedding by the relationships PostgREST derives (many-to-many through a junction, a table
 * with itself, a view's keys, computed relationships, ordering by an embed's column, to-many
 * spreads), a function's rows read as its table's, a variadic call and a 404's hints.
 * tests/local_api/test_supabase_js_embedding.py runs it against a local API over a
 * throwaway schema of PostgREST's spec tables (SUPABASE_SCHEMA).
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createClient } from '@supabase/supabase-js'

const SUPABASE_URL = required('SUPABASE_URL')
const SUPABASE_ANON_KEY = required('SUPABASE_ANON_KEY')
const SCHEMA = required('SUPABASE_SCHEMA')

function required(name: string): string {
  const value = process.env[name]
  if (!value) throw new Error(`${name} is not set`)
  return value
}

// no generated types for a throwaway schema: rows are plain JSON here
const supabase = createClient<any, string>(SUPABASE_URL, SUPABASE_ANON_KEY, {
  auth: { persistSession: false, autoRefreshToken: false },
  db: { schema: SCHEMA },
})

test('a junction table embeds many-to-many, in the order asked of the embed', async () => {
  const { data, error } = await supabase.from('users').select('name, tasks(name)')
    .order('id').order('id', { referencedTable: 'tasks', ascending: false })
  assert.equal(error, null)
  assert.deepEqual(data, [
    { name: 'Angela', tasks: [{ name: 'Code w7' }, { name: 'Design w7' }] },
    { name: 'Michael', tasks: [{ name: 'Design IOS' }, { name: 'Code w7' }] },
    { name: 'Dwight', tasks: [] },
  ])
})

test('an ambiguous embed is 300 PGRST201 until a hint names the junction', async () => {
  const ambiguous = await supabase.from('sites').select('*, big_projects(*)')
  assert.equal(ambiguous.status, 300)
  assert.equal(ambiguous.error?.code, 'PGRST201')
  assert.match(ambiguous.error?.hint ?? '', /'big_projects!jobs'/)
  const { data, error } = await supabase.from('sites').select('site_id, big_projects!jobs(name)')
    .eq('site_id', 1)
  assert.equal(error, null)
  assert.deepEqual(data, [{ site_id: 1, big_projects: [{ name: 'big project 1' }] }])
})

test('a table embeds itself: children by its name, the parent by the column', async () => {
  const { data, error } = await supabase.from('family_tree')
    .select('name, parent(name), children:family_tree(name)').eq('id', '2')
  assert.equal(error, null)
  assert.deepEqual(data, [{ name: 'Kid One', parent: { name: 'Parental Unit' },
                            children: [{ name: 'Grandkid' }] }])
})

test('a function of a row embeds as a computed relationship', async () => {
  const { data, error } = await supabase.from('videogames')
    .select('name, designer:computed_designers(name)').in('id', [1, 3]).order('id')
  assert.equal(error, null)
  assert.deepEqual(data, [{ name: 'Civilization I', designer: { name: 'Sid Meier' } },
                          { name: 'Final Fantasy I', designer: { name: 'Hironobu Sakaguchi' } }])
})

test('a view embeds and is embedded by the keys of the table under it', async () => {
  const { data, error } = await supabase.from('project_names').select('name, clients(name)')
    .eq('id', 3)
  assert.equal(error, null)
  assert.deepEqual(data, [{ name: 'IOS', clients: { name: 'Apple' } }])
  const tasks = await supabase.from('tasks').select('name, project_names(name)').eq('id', 4)
  assert.equal(tasks.error, null)
  assert.deepEqual(tasks.data, [{ name: 'Design IOS', project_names: { name: 'IOS' } }])
})

test("rows sort by a to-one embed's column, and a to-many spread answers arrays", async () => {
  const sorted = await supabase.from('projects').select('name, clients(name)')
    .order('clients(name)').order('id')
  assert.equal(sorted.error, null)
  assert.deepEqual(sorted.data?.map((row) => row.name), ['IOS', 'Windows 7', 'Windows 10'])
  const spread = await supabase.from('users').select('id, ...tasks(task:name)').eq('id', 2)
    .order('id', { referencedTable: 'tasks' })
  assert.equal(spread.error, null)
  assert.deepEqual(spread.data, [{ id: 2, task: ['Code w7', 'Design IOS'] }])
})

test("a function's rows are filtered, embedded, ordered and paged as its table's", async () => {
  const posted = await supabase.rpc('search_books', { q: 'the' })
    .select('title, author:authors(name)').lt('year', 1975).order('year', { ascending: false })
    .limit(2)
  assert.equal(posted.error, null)
  assert.deepEqual(posted.data, [
    { title: 'The Dispossessed', author: { name: 'Ursula' } },
    { title: 'The Lathe of Heaven', author: { name: 'Ursula' } },
  ])
  const counted = await supabase.rpc('search_books', { q: '' }, { get: true, count: 'exact' })
    .select('id').order('id').range(1, 2)
  assert.equal(counted.error, null)
  assert.equal(counted.status, 206)
  assert.equal(counted.count, 4)
  assert.deepEqual(counted.data, [{ id: 2 }, { id: 3 }])
  const one = await supabase.rpc('search_books', { q: 'solaris' }).select('year').single()
  assert.equal(one.error, null)
  assert.deepEqual(one.data, { year: 1961 })
})

test('a variadic parameter takes an array, and a 404 hints the closest name', async () => {
  const { data, error } = await supabase.rpc('plus_one', { v: [1, 2, 3] })
  assert.equal(error, null)
  assert.deepEqual(data, [2, 3, 4])
  const misspelt = await supabase.rpc('sayhell')
  assert.equal(misspelt.status, 404)
  assert.equal(misspelt.error?.code, 'PGRST202')
  assert.equal(misspelt.error?.hint, `Perhaps you meant to call the function ${SCHEMA}.sayhello`)
  const argument = await supabase.rpc('sayhello', { nam: 'Peter' })
  assert.equal(argument.error?.hint,
               `Perhaps you meant to call the function ${SCHEMA}.sayhello(name)`)
})
