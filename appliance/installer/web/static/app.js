// The box's page: polls /api/status for the health, the counts and the
// last visitors; for the installer, polls /api/live for the newest frame's
// faces, then fetches that frame's JPEG and draws the faces' boxes over
// it. people.js and settings.js add the flows. No library, nothing from
// the internet: the page must work on a shop's LAN.
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);
  const LIVE_EVERY = 250; // ms between frames asked for
  const STATUS_EVERY = 1000;
  let stopped = false;
  let shownSeq = 0;
  let objectURL = null;
  let offAt = null;
  let cameraReason = '';
  const OFF_MSG = 'The page has turned itself off. To turn it on again, hold the staff button for 10 seconds, ' +
    'or ask head office to send the page command.';
  // The page's helpers, for people.js and settings.js.
  const joren = (window.joren = { $, ready: false, onStatus: [] });

  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  // stop ends the polling and says why, removing the last picture.
  function stop(msg) {
    if (stopped) return;
    stopped = true;
    const g = $('gone');
    g.textContent = msg;
    g.hidden = false;
    if ($('frame')) {
      $('frame').removeAttribute('src');
      $('boxes').replaceChildren();
      $('live-state').textContent = msg;
      $('live-state').hidden = false;
    }
    if (objectURL) URL.revokeObjectURL(objectURL);
    objectURL = null;
  }
  joren.stop = stop;

  class Gone extends Error {}

  async function get(url) {
    let r;
    try {
      r = await fetch(url, { cache: 'no-store', credentials: 'same-origin' });
    } catch (e) {
      throw new Error('the box does not answer');
    }
    if (r.status === 401) {
      // The session ended (logged out elsewhere, or the box restarted).
      location.assign('/');
      throw new Gone('logged out');
    }
    if (r.status === 503) {
      stop(OFF_MSG);
      throw new Gone('off');
    }
    return r;
  }
  joren.get = get;

  // post sends a JSON body and returns the answer's status and JSON.
  joren.post = async function (url, body) {
    let r;
    try {
      r = await fetch(url, {
        method: 'POST', credentials: 'same-origin', cache: 'no-store',
        headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body || {}),
      });
    } catch (e) {
      return { status: 0, json: { error: 'the box does not answer' } };
    }
    if (r.status === 401) {
      location.assign('/');
    }
    const json = await r.json().catch(() => ({}));
    return { status: r.status, ok: r.ok, json };
  };

  function label(f) {
    const w = f.box[2] - f.box[0];
    const parts = [];
    if (f.passed) {
      parts.push('\u2713 q ' + f.quality.toFixed(2));
    } else if (f.reason === 'small') {
      parts.push('\u2717 small');
    } else {
      parts.push('\u2717 ' + (f.reason || 'not used') + ' q ' + f.quality.toFixed(2));
    }
    parts.push(w + ' px');
    if (f.track) parts.push('#' + f.track);
    return parts.join(' \u00b7 ');
  }

  function drawBoxes(j) {
    const boxes = [];
    for (const f of j.faces) {
      const d = document.createElement('div');
      d.className = 'box ' + (f.passed ? 'ok' : 'bad');
      // A face at the top of the picture gets its label below the box.
      if (f.box[1] < 0.06 * j.height) d.classList.add('low');
      d.dataset.box = f.box.join(',');
      // Percentages of the frame: the boxes follow the picture's size.
      d.style.left = (100 * f.box[0] / j.width) + '%';
      d.style.top = (100 * f.box[1] / j.height) + '%';
      d.style.width = (100 * (f.box[2] - f.box[0]) / j.width) + '%';
      d.style.height = (100 * (f.box[3] - f.box[1]) / j.height) + '%';
      const l = document.createElement('span');
      l.className = 'label';
      l.textContent = label(f);
      d.appendChild(l);
      boxes.push(d);
    }
    $('boxes').replaceChildren(...boxes);
  }

  function liveInfo(j) {
    const n = j.faces.length;
    let s = j.width + '\u00d7' + j.height + ' \u00b7 ' + n + (n === 1 ? ' face' : ' faces');
    if (j.age_ms > 2000) {
      s += ' \u00b7 the camera sent nothing for ' + Math.round(j.age_ms / 1000) + ' s';
    }
    $('live-info').textContent = s;
  }

  async function liveOnce() {
    const j = await (await get('/api/live')).json();
    if (j.waiting) {
      $('live-state').textContent = cameraReason || 'Waiting for the camera\u2026';
      $('live-state').hidden = false;
      return;
    }
    if (j.seq === shownSeq) {
      liveInfo(j);
      return;
    }
    const r = await get(j.image);
    if (!r.ok) return; // a newer frame replaced it: ask again
    const url = URL.createObjectURL(await r.blob());
    const img = $('frame');
    try {
      await new Promise((ok, fail) => {
        img.onload = ok;
        img.onerror = fail;
        img.src = url;
      });
    } catch (e) {
      URL.revokeObjectURL(url);
      throw new Error('a frame could not be shown');
    }
    // The old frame's bytes go as soon as the new one shows.
    if (objectURL) URL.revokeObjectURL(objectURL);
    objectURL = url;
    shownSeq = j.seq;
    $('live').style.aspectRatio = j.width + ' / ' + j.height;
    $('live').dataset.seq = j.seq;
    drawBoxes(j);
    liveInfo(j);
    $('live-state').hidden = true;
  }

  function bytes(n) {
    if (n < 1024) return n + ' B';
    if (n < 1 << 20) return (n / 1024).toFixed(1) + ' KB';
    if (n < 1 << 30) return (n / (1 << 20)).toFixed(1) + ' MB';
    return (n / (1 << 30)).toFixed(1) + ' GB';
  }

  function two(n) {
    return String(n).padStart(2, '0');
  }

  function clock(t) {
    const d = new Date(t);
    return two(d.getHours()) + ':' + two(d.getMinutes()) + ':' + two(d.getSeconds());
  }

  // local writes an RFC 3339 time in the shop's time zone.
  function local(t, zone) {
    try {
      return new Intl.DateTimeFormat('en-GB', {
        timeZone: zone, month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit',
      }).format(new Date(t));
    } catch (e) {
      return clock(t);
    }
  }
  joren.local = local;

  function ago(s) {
    if (s < 90) return Math.round(s) + ' s';
    if (s < 5400) return Math.round(s / 60) + ' min';
    return (s / 3600).toFixed(1) + ' h';
  }

  function setText(id, text, bad) {
    const e = $(id);
    e.textContent = text;
    e.classList.toggle('bad-text', !!bad);
  }

  function showHealth(h, zone) {
    const c = h.camera;
    let cam = c.state;
    if (c.state === 'ok') {
      cam = 'ok \u00b7 ' + c.fps.toFixed(1) + ' frames/s \u00b7 last frame ' + ago(c.last_frame_age_s) + ' ago';
    } else if (c.reason) {
      cam = c.state + ': ' + c.reason;
    }
    if (c.reconnects) cam += ' \u00b7 reconnected ' + c.reconnects + ' times';
    setText('h-camera', cam, c.state !== 'ok' && c.state !== 'starting');
    cameraReason = c.state !== 'ok' && c.reason ? 'Camera ' + c.state + ': ' + c.reason : '';
    const b = h.broker;
    let br = b.state;
    if (b.reason) br += ': ' + b.reason;
    if (b.since) br += ' (since ' + local(b.since, zone) + ')';
    setText('h-broker', br, b.state === 'refused');
    const o = h.outbox;
    setText('h-outbox', o.pending.toLocaleString('en') + (o.max ? ' of at most ' + o.max.toLocaleString('en') : '') +
      (o.dropped ? ' \u00b7 ' + o.dropped + ' dropped' : ''), o.dropped > 0);
    setText('h-disk', h.disk ? bytes(h.disk.free_bytes) + ' free of ' + bytes(h.disk.total_bytes) : 'unknown');
    setText('h-temp', h.temperature_c != null ? h.temperature_c.toFixed(1) + ' \u00b0C' : 'not reported by this board',
      h.temperature_c > 80);
    const k = h.clock;
    let cl = k.synchronised ? 'synchronised to network time' : 'not synchronised';
    if (k.reason) cl = k.reason;
    if (!k.trusted) cl += ' (not trusted for counting days)';
    setText('h-clock', cl, !k.synchronised || !k.trusted);
    setText('h-version', h.version || 'unknown');
    const probs = (h.problems || []).map((p) => {
      const li = document.createElement('li');
      const key = document.createElement('strong');
      key.textContent = p.key;
      li.append(key, ': ' + p.reason + (p.since ? ' (since ' + local(p.since, zone) + ')' : ''));
      return li;
    });
    $('problems').replaceChildren(...probs);
    const st = $('h-status');
    st.textContent = h.status === 'ok' ? 'All well.' :
      'Needs attention: ' + probs.length + (probs.length === 1 ? ' problem' : ' problems') + '.';
    st.className = 'h-status ' + (h.status === 'ok' ? 'ok' : 'bad');
  }

  function showCounts(c) {
    $('c-frames').textContent = c.frames.toLocaleString('en');
    $('c-fps').textContent = c.fps.toFixed(1);
    $('c-dropped').textContent = c.dropped.toLocaleString('en');
    $('c-visits').textContent = c.visits_today;
    $('c-regulars').textContent = c.regulars_today;
    $('c-outbox').textContent = c.outbox.toLocaleString('en');
    $('c-visitors').textContent = c.visitors.toLocaleString('en');
    $('c-store').textContent = bytes(c.store_bytes);
  }

  function showStatus(j) {
    if (j.counts && $('c-frames')) showCounts(j.counts);
    if (j.health) showHealth(j.health, j.zone);
    $('h-zone').textContent = j.zone;
    const rows = j.decisions.map((d) => {
      const tr = document.createElement('tr');
      const kind = d.kind.replace(' ', '-');
      for (const [text, cls] of [
        [d.local, 'time'],
        [d.who || '\u2014', 'who'],
        [d.kind, 'kind ' + kind],
        [String(d.visits), 'num'],
        [String(d.days), 'num'],
      ]) {
        const td = document.createElement('td');
        td.className = cls;
        td.textContent = text;
        tr.appendChild(td);
      }
      if (joren.decisionCell) tr.appendChild(joren.decisionCell(d));
      return tr;
    });
    $('decisions').replaceChildren(...rows);
    $('no-decisions').hidden = rows.length > 0;
    if (j.off_at && $('off-in')) {
      // The box's clock says how long is left; this browser's clock
      // may be off.
      const left = new Date(j.off_at) - new Date(j.now);
      offAt = Date.now() + left;
      const min = Math.max(0, Math.ceil(left / 60000));
      $('off-in').textContent = ' (in ' + min + ' min)';
      if ($('off-at')) $('off-at').textContent = j.off_local;
    }
    for (const f of joren.onStatus) f(j);
  }

  async function showConfig() {
    const j = await (await get('/api/config')).json();
    const rows = [];
    let section = '';
    for (const s of j.settings) {
      const [sec] = s.key.split('.');
      if (sec !== section) {
        section = sec;
        const tr = document.createElement('tr');
        const th = document.createElement('th');
        th.colSpan = 2;
        th.textContent = sec;
        tr.appendChild(th);
        rows.push(tr);
      }
      const tr = document.createElement('tr');
      const k = document.createElement('td');
      k.textContent = s.key;
      const v = document.createElement('td');
      v.textContent = s.value === '' ? '(empty)' : s.value;
      if (s.value === '') v.className = 'empty';
      tr.append(k, v);
      rows.push(tr);
      if (s.key === 'vision.min_face') $('min-face').textContent = s.value;
    }
    $('config').replaceChildren(...rows);
  }

  async function loop(every, once) {
    while (!stopped) {
      const t0 = performance.now();
      try {
        await once();
      } catch (e) {
        if (e instanceof Gone) return;
        if ($('live-state')) {
          $('live-state').textContent = 'Cannot reach the box: ' + e.message + '. Retrying\u2026';
          $('live-state').hidden = false;
        }
        $('h-status').textContent = 'Cannot reach the box: ' + e.message + '. Retrying\u2026';
      }
      await sleep(Math.max(50, every - (performance.now() - t0)));
    }
  }

  async function statusOnce() {
    showStatus(await (await get('/api/status')).json());
  }

  // Once off, the page cannot answer: say so even without a request.
  setInterval(() => {
    if (offAt !== null && Date.now() >= offAt) {
      stop(OFF_MSG);
    }
  }, 1000);

  // "Test the light": the staff's "regular" pattern, to check the wiring.
  const testButton = $('test-indicator');
  if (testButton) {
    testButton.addEventListener('click', async () => {
      const out = $('test-result');
      testButton.disabled = true;
      try {
        const r = await fetch('/api/test-indicator', { method: 'POST', credentials: 'same-origin' });
        const j = await r.json().catch(() => ({}));
        out.textContent = r.ok
          ? 'Played: did the LED blink three times, with a short beep?'
          : 'Not played: ' + (j.error || r.status);
      } catch (e) {
        out.textContent = 'Not played: the box does not answer.';
      }
      setTimeout(() => { testButton.disabled = false; }, 3000);
    });
  }

  if ($('config')) showConfig().catch(() => {});
  loop(STATUS_EVERY, statusOnce);
  if ($('frame')) loop(LIVE_EVERY, liveOnce);
  joren.ready = true;
})();
