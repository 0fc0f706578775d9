/// <reference lib="dom" />
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { api, link } from './api.js';
import { Chart } from './chart.js';

/** Loads `path` now and every `everyMs` (live pages); `reload` fetches at once. */
function useApi<T>(path: string | undefined, everyMs?: number): { data?: T; error?: string; reload: () => void } {
  const [state, setState] = useState<{ data?: T; error?: string }>({});
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!path) return;
    let live = true;
    const load = () =>
      api<T>(path)
        .then((data) => live && setState({ data }))
        .catch((e: Error) => live && setState((s) => ({ ...s, error: e.message })));
    void load();
    const timer = everyMs ? setInterval(load, everyMs) : undefined;
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [path, tick]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}

const Problem = (props: { error?: string }) => (props.error ? html`<p class="error" data-testid="error">${props.error}</p>` : null);
const when = (iso?: string) => (iso ? new Date(iso).toLocaleString() : '');
const json = (value: unknown) => html`<pre>${JSON.stringify(value, null, 2)}</pre>`;

/** A runner's bound state: ok / lagging / stalled / stopped, and the bound when it is breached. */
const Bound = (b?: { state: string; breached: boolean; bound: { seconds?: number; events?: number }; etaSeconds?: number }) => {
  if (!b) return html`<span class="quiet">none</span>`;
  const limit = [b.bound.seconds !== undefined ? `${b.bound.seconds} s` : '', b.bound.events !== undefined ? `${b.bound.events} events` : ''].filter(Boolean).join(', ');
  return html`<span class=${`bound-${b.state}`} data-state=${b.state} title=${`bound: within ${limit}`}>${b.state}${b.breached ? ` (over ${limit})` : ''}${b.etaSeconds !== undefined && b.state === 'lagging' ? `, caught up in ~${Math.ceil(b.etaSeconds)} s` : ''}</span>`;
};

export function Overview() {
  const { data, error } = useApi<any>('overview', 1500);
  if (!data) return html`<${Problem} error=${error} /><p>Loading…</p>`;
  const samples: any[] = data.samples;
  const times = samples.map((s) => s.at / 1000);
  const names: string[] = data.runners.map((r: any) => r.name);
  const lagData = [times, ...names.map((n) => samples.map((s) => s.lags[n]?.events ?? null))];
  const rate = samples.at(-1)?.appendRate ?? 0;
  return html`<section data-testid="overview">
    <${Problem} error=${error} />
    <p class="facts">
      ${data.location ? html`<span>store <code data-testid="location">${data.location}</code></span>` : null}
      <span>head <b data-testid="head">${data.head}</b></span>
      <span>append rate <b>${rate.toFixed(1)}</b> events/s</span>
    </p>
    <${Chart} testId="head-chart" title="Head position and append rate (events/s)" series=${['head', 'append rate']} data=${[times, samples.map((s) => Number(s.head)), samples.map((s) => s.appendRate)]} />
    <h2>Runners</h2>
    ${
      data.runners.length === 0
        ? html`<p>No checkpointed runner in this store.</p>`
        : html`<table data-testid="runners"><thead><tr><th>runner</th><th>kind</th><th>position</th><th>lag (events)</th><th>lag (s)</th><th>bound</th><th>dead letters</th><th>parked</th><th>moved</th></tr></thead>
          <tbody>${data.runners.map(
            (r: any) => html`<tr data-runner=${r.name}><td>${r.name}</td><td>${r.kind}</td><td>${r.kind === 'consumer' ? html`<span title=${`reported by ${r.reportedBy}, ${r.state}`}>${r.details?.system} ${r.details?.topic}/${r.details?.group}</span>` : r.position}</td><td class="lag-events">${r.lagEvents}</td><td>${r.lagSeconds.toFixed(1)}</td><td class="bound">${Bound(data.bounds?.[r.name])}</td><td>${r.deadLetters ? html`<a href=${link('/dead-letters')}>${r.deadLetters}</a>` : 0}</td><td>${r.parked}</td><td>${when(r.updatedAt)}</td></tr>`,
          )}</tbody></table>
          <${Chart} testId="lag-chart" title="Lag in events" series=${names} data=${lagData} />`
    }
  </section>`;
}

export function Streams(props: { query: URLSearchParams }) {
  const [q, setQ] = useState(props.query.get('q') ?? '');
  const [category, setCategory] = useState(props.query.get('category') ?? '');
  const [after, setAfter] = useState('');
  const params = new URLSearchParams({ limit: '50', ...(q ? { q } : {}), ...(category ? { category } : {}), ...(after ? { after } : {}) });
  const { data, error } = useApi<any[]>(`streams?${params}`);
  return html`<section data-testid="streams">
    <form class="search" onSubmit=${(e: Event) => e.preventDefault()}>
      <input data-testid="stream-search" placeholder="stream id (or its start)" value=${q} onInput=${(e: any) => (setAfter(''), setQ(e.target.value))} />
      <input data-testid="category" placeholder="category" value=${category} onInput=${(e: any) => (setAfter(''), setCategory(e.target.value))} />
    </form>
    <${Problem} error=${error} />
    ${
      data &&
      html`<table data-testid="stream-list"><thead><tr><th>stream</th><th>version</th><th>state</th></tr></thead><tbody>
        ${data.map((s) => html`<tr><td><a href=${link(`/stream/${encodeURIComponent(s.streamId)}`)}>${s.streamId}</a></td><td>${s.version}</td><td>${s.tombstoned ? 'tombstoned' : s.softDeleted ? 'deleted' : ''}</td></tr>`)}
      </tbody></table>
      ${data.length === 50 ? html`<button onClick=${() => setAfter(data[data.length - 1].streamId)}>next streams</button>` : null}`
    }
  </section>`;
}

export function Stream(props: { streamId: string; from: number }) {
  const limit = 50;
  const started = performance.now();
  const { data, error } = useApi<any>(`streams/${encodeURIComponent(props.streamId)}?from=${props.from}&limit=${limit}`);
  const [open, setOpen] = useState<string | undefined>();
  const [folding, setFolding] = useState(false);
  const states = useApi<any>(folding ? `streams/${encodeURIComponent(props.streamId)}/states?from=${props.from}&limit=${limit}` : undefined);
  useEffect(() => {
    if (data) document.body.dataset.streamRenderedMs = String(Math.round(performance.now() - started));
  }, [data]);
  if (!data) return html`<${Problem} error=${error} /><p>Loading…</p>`;
  const stepOf = new Map<number, any>((states.data?.steps ?? []).map((s: any) => [s.event.streamVersion, s]));
  const page = (from: number) => link(`/stream/${encodeURIComponent(props.streamId)}/${Math.max(1, from)}`);
  const last = Math.ceil(data.info.version / limit - 1) * limit + 1;
  return html`<section data-testid="stream">
    <h2>${props.streamId} <small>version ${data.info.version}</small></h2>
    <p class="pager">
      <a href=${page(1)}>first</a> <a href=${page(props.from - limit)}>previous</a>
      <span data-testid="range">versions ${props.from}–${props.from + data.events.length - 1} of ${data.info.version}</span>
      <a data-testid="next-page" href=${page(props.from + limit)}>next</a> <a href=${page(last)}>last</a>
      <form onSubmit=${(e: any) => (e.preventDefault(), (location.href = page(Number(new FormData(e.target).get('version')) || 1)))} style="display:inline">
        <input data-testid="jump" name="version" type="number" min="1" max=${data.info.version} placeholder="version" /> <button>go</button>
      </form>
    </p>
    ${
      data.folds
        ? html`<p><label><input type="checkbox" data-testid="show-state" checked=${folding} onChange=${(e: any) => setFolding(e.target.checked)} /> state at each version, and what each event changed</label></p>
          <${Problem} error=${states.error} />
          ${folding && states.data ? html`<details data-testid="state-before"><summary>state before version ${props.from}</summary>${json(states.data.before)}</details>` : null}`
        : null
    }
    <table data-testid="events"><thead><tr><th>version</th><th>position</th><th>type</th><th>recorded</th><th>id</th>${folding ? html`<th>changes</th>` : null}</tr></thead><tbody>
    ${data.events.map((e: any) => {
      const step = stepOf.get(e.streamVersion);
      return html`<tr class="event-row" data-version=${e.streamVersion} onClick=${() => setOpen(open === e.id ? undefined : e.id)}><td>${e.streamVersion}</td><td>${e.globalPosition}</td><td>${e.type}</td><td>${when(e.recordedAt)}</td><td><a href=${link(`/event/${e.id}`)}>${e.id}</a></td>${folding ? html`<td class="changes">${step ? Changes(step.changes) : ''}</td>` : null}</tr>
        ${open === e.id ? html`<tr><td colspan=${folding ? 6 : 5} class="details"><h4>data</h4>${json(e.data)}<h4>metadata</h4>${json(e.metadata)}${step ? html`<h4>state after version ${e.streamVersion}</h4><div data-testid="state-after">${json(step.state)}</div>` : null}</td></tr>` : null}`;
    })}
    </tbody></table>
  </section>`;
}

const shown = (value: unknown) => (value === undefined ? '' : JSON.stringify(value));
/** An event's changes to the state: one line per path, `before → after`. */
const Changes = (changes: any[]) =>
  changes.length === 0
    ? html`<span class="quiet">no change</span>`
    : html`<ul class="change-list">${changes.map(
        (c) => html`<li class=${`change ${c.kind}`}><code>${c.path.join('.') || '(state)'}</code> ${c.kind === 'added' ? html`+ ${shown(c.after)}` : c.kind === 'removed' ? html`− ${shown(c.before)}` : html`${shown(c.before)} → ${shown(c.after)}`}</li>`,
      )}</ul>`;

const EventRow = (e: any, current?: string) =>
  html`<tr class=${e.id === current ? 'current' : ''}><td><a href=${link(`/stream/${encodeURIComponent(e.streamId)}/${Math.max(1, e.streamVersion)}`)}>${e.streamId}</a></td><td>${e.streamVersion}</td><td>${e.globalPosition}</td><td><a href=${link(`/event/${e.id}`)}>${e.type}</a></td><td>${when(e.recordedAt)}</td></tr>`;

export function EventView(props: { id: string }) {
  const { data, error } = useApi<any>(`events/${props.id}`);
  if (!data) return html`<${Problem} error=${error} /><p>Loading…</p>`;
  const e = data.event;
  return html`<section data-testid="event">
    <h2>${e.type} <small>${e.streamId} v${e.streamVersion}, position ${e.globalPosition}</small></h2>
    <h4>data</h4>${json(e.data)}<h4>metadata</h4>${json(e.metadata)}
    <h3>Caused by (nearest first)</h3>
    ${data.causes.length ? html`<table data-testid="causes"><tbody>${data.causes.map((c: any) => EventRow(c))}</tbody></table>` : html`<p>Nothing in the log: it started its flow.</p>`}
    <h3>Its correlation${e.metadata.correlationId ? ` ${e.metadata.correlationId}` : ''}</h3>
    ${data.correlated.length ? html`<table data-testid="correlated"><tbody>${data.correlated.map((c: any) => EventRow(c, e.id))}</tbody></table>` : html`<p>No correlation id.</p>`}
  </section>`;
}

/** What a retry or skip did, in a line: done here, or asked of the runner's owner and what it said. */
function actionMessage(r: any): string {
  const counts = `${r.handled ?? 0} handled, ${r.remaining ?? 0} still held`;
  const by = r.claimedBy ? ` by ${r.claimedBy}` : '';
  if (r.outcome === 'failed') return `${r.action} failed${by}: ${r.errorCode ? `[${r.errorCode}] ` : ''}${r.error ?? ''} (${counts})`;
  if (r.outcome === 'pending' || r.outcome === 'running') {
    return r.action === 'skip'
      ? `skip: done; no running owner has let the events parked behind it flow yet (request ${r.requestId}): they flow when it runs`
      : `retry asked for (request ${r.requestId}): no running owner ${r.outcome === 'running' ? 'finished it' : 'took it'} yet; it stays asked for`;
  }
  return `${r.action}: ${counts}${by}`;
}

export function DeadLetters() {
  const { data, error, reload } = useApi<any[]>('dead-letters', 1500);
  const [busy, setBusy] = useState<string | undefined>();
  const [message, setMessage] = useState<string | undefined>();
  const act = (id: string, action: 'retry' | 'skip') => {
    setBusy(id);
    api(`dead-letters/${id}/${action}`, { method: 'POST' })
      .then((r: any) => setMessage(actionMessage(r)))
      .catch((e: Error) => setMessage(e.message))
      .finally(() => (setBusy(undefined), reload()));
  };
  if (!data) return html`<${Problem} error=${error} /><p>Loading…</p>`;
  return html`<section data-testid="dead-letters">
    ${message ? html`<p class="message" data-testid="action-result">${message}</p>` : null}
    <${Problem} error=${error} />
    ${
      data.length === 0
        ? html`<p data-testid="no-dead-letters">No dead letters.</p>`
        : html`<table><thead><tr><th>runner</th><th>status</th><th>stream</th><th>position</th><th>type</th><th>attempts</th><th>error</th><th></th></tr></thead><tbody>
      ${data.map(
        (l) => html`<tr class="letter" data-letter=${l.id} data-status=${l.status}><td>${l.subscription}</td><td>${l.status}</td><td><a href=${link(`/stream/${encodeURIComponent(l.streamId)}/${Math.max(1, l.event.streamVersion)}`)}>${l.streamId}</a></td><td>${l.globalPosition}</td><td><a href=${link(`/event/${l.event.id}`)}>${l.event.type}</a></td><td>${l.attempts}</td><td class="error-text" title=${l.errorStack ?? ''}>${l.errorCode ? `[${l.errorCode}] ` : ''}${l.error ?? ''}</td>
        <td>${
          l.status === 'dead'
            ? html`<button data-testid="retry" disabled=${!l.actionable || busy === l.id} title=${!l.actionable ? 'its runner does not run in this process' : l.actionVia === 'owner' ? 'asked of the process that runs its runner, which handles it again, then the events parked behind it' : 'handle it again, then the events parked behind it'} onClick=${() => act(l.id, 'retry')}>retry</button>
              <button data-testid="skip" disabled=${!l.actionable || busy === l.id} onClick=${() => act(l.id, 'skip')}>skip</button>`
            : null
        }</td></tr>`,
      )}</tbody></table>`
    }
  </section>`;
}

export function Sagas() {
  const [status, setStatus] = useState('');
  const { data, error } = useApi<any>(`sagas${status ? `?status=${status}` : ''}`, 3000);
  return html`<section data-testid="sagas">
    <label>status <select data-testid="saga-status" value=${status} onChange=${(e: any) => setStatus(e.target.value)}><option value="">any</option><option>running</option><option>completed</option></select></label>
    <${Problem} error=${error} />
    ${
      data &&
      (data.workflows.length === 0
        ? html`<p>No workflows: name them in factum.config.ts (workflows) or pass them to createDashboard.</p>`
        : html`<table data-testid="saga-list"><thead><tr><th>workflow</th><th>instance</th><th>status</th><th>phase</th><th>version</th><th>changed</th></tr></thead><tbody>
        ${data.instances.map((r: any) => html`<tr><td>${r.workflow}</td><td><a href=${link(`/saga/${encodeURIComponent(r.workflow)}/${encodeURIComponent(r.instanceId)}`)}>${r.instanceId}</a></td><td>${r.status}</td><td>${r.phase ?? ''}</td><td>${r.version}</td><td>${when(r.updatedAt)}</td></tr>`)}
      </tbody></table>`)
    }
  </section>`;
}

export function Saga(props: { workflow: string; instanceId: string }) {
  const { data, error } = useApi<any>(`sagas/${encodeURIComponent(props.workflow)}/${encodeURIComponent(props.instanceId)}`, 3000);
  if (!data) return html`<${Problem} error=${error} /><p>Loading…</p>`;
  return html`<section data-testid="saga">
    <h2>${data.workflow} ${data.instanceId} <small>${data.status}${data.phase ? ` (${data.phase})` : ''}, log ${data.streamId} v${data.version}</small></h2>
    <h4>state</h4>${json(data.state)}
    <h3>Log</h3><table data-testid="saga-log"><tbody>${data.log.map((e: any) => EventRow(e))}</tbody></table>
    <h3>Pending timers</h3>${data.timers.length ? html`<ul>${data.timers.map((t: any) => html`<li>${t.timer} due ${when(t.dueAt)}</li>`)}</ul>` : html`<p>None.</p>`}
    <h3>Semantic locks</h3>${data.locks.length ? html`<ul data-testid="saga-locks">${data.locks.map((l: any) => html`<li>${l.resource} ${l.state} since ${when(l.since)}</li>`)}</ul>` : html`<p>None.</p>`}
  </section>`;
}
