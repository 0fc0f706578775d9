/// <reference lib="dom" />
import { html, render } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import uplotCss from 'uplot/dist/uPlot.min.css';
import { link } from './api.js';
import { DeadLetters, EventView, Overview, Saga, Sagas, Stream, Streams } from './pages.js';
import pageCss from './dashboard.css';

/** The page: a hash router over the five views (the hash keeps the token out of every path). */
function App() {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const changed = () => setHash(location.hash);
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  const [path = '', search = ''] = hash.replace(/^#/, '').split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const view = parts[0] ?? 'overview';
  const nav = (name: string, label: string) => html`<a class=${view === name || view === name.replace(/s$/, '') ? 'active' : ''} data-testid=${`nav-${name}`} href=${link(`/${name}`)}>${label}</a>`;
  let body;
  if (view === 'streams') body = html`<${Streams} query=${new URLSearchParams(search)} />`;
  else if (view === 'stream') body = html`<${Stream} key=${hash} streamId=${parts[1] ?? ''} from=${Number(parts[2] ?? 1) || 1} />`;
  else if (view === 'event') body = html`<${EventView} key=${hash} id=${parts[1] ?? ''} />`;
  else if (view === 'dead-letters') body = html`<${DeadLetters} />`;
  else if (view === 'sagas') body = html`<${Sagas} />`;
  else if (view === 'saga') body = html`<${Saga} key=${hash} workflow=${parts[1] ?? ''} instanceId=${parts[2] ?? ''} />`;
  else body = html`<${Overview} />`;
  return html`<header><b>factum</b><nav>${nav('overview', 'Overview')}${nav('streams', 'Streams')}${nav('dead-letters', 'Dead letters')}${nav('sagas', 'Sagas')}</nav></header><main>${body}</main>`;
}

const style = document.createElement('style');
style.textContent = uplotCss + pageCss;
document.head.append(style);
const root = document.getElementById('app')!;
// The server's "Loading…" placeholder: render() keeps what it did not create.
root.textContent = '';
render(html`<${App} />`, root);
