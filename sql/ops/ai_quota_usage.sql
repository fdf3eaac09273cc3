-- AI quota use per bucket and user over each policy's window: slots used,
-- reservations still in flight, and failures. Change a limit with:
--   update core.quota_policies set max_count = 10 where bucket = 'pullups.ai';
select r.bucket, r.user_id, p.max_count as "limit",
       count(*) filter (where r.state = 'success') as succeeded,
       count(*) filter (where r.state = 'pending' and r.expires_at > now()) as in_flight,
       count(*) filter (where r.state = 'pending' and r.expires_at <= now()) as abandoned,
       count(*) filter (where r.state = 'failure') as failed
  from core.quota_reservations r
  join core.quota_policies p using (bucket)
 where r.reserved_at > now() - p.window_length
 group by r.bucket, r.user_id, p.max_count
 order by succeeded desc;
