// The people flows of the box's page: enrol staff and customers from the
// camera, list and remove them, forget the person at the camera or one of
// the last visitors. The faces are collected on the box (descriptors,
// never pictures); this script only starts a task and shows its progress.
'use strict';

(function () {
  const { $, get, post } = window.joren;
  const TASK_EVERY = 300;
  let watching = false;

  const n = (k, one, many) => k + ' ' + (k === 1 ? one : many);

  function li(text, buttonText, onClick) {
    const item = document.createElement('li');
    const span = document.createElement('span');
    span.textContent = text;
    item.appendChild(span);
    if (buttonText) {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = buttonText;
      b.className = 'small-button';
      b.addEventListener('click', () => onClick(item, b));
      item.appendChild(b);
    }
    return item;
  }

  // confirmIn replaces an item's button by a question and two answers:
  // no browser dialog (it blocks the page, and phones hide it).
  function confirmIn(el, question, yes, onYes) {
    const box = document.createElement('div');
    box.className = 'confirm';
    const q = document.createElement('p');
    q.textContent = question;
    const y = document.createElement('button');
    y.type = 'button';
    y.className = 'danger';
    y.textContent = yes;
    const n = document.createElement('button');
    n.type = 'button';
    n.textContent = 'Keep';
    box.append(q, y, n);
    el.appendChild(box);
    n.addEventListener('click', () => box.remove());
    y.addEventListener('click', async () => {
      y.disabled = n.disabled = true;
      await onYes(box);
    });
    return box;
  }

  function say(el, text, bad) {
    const p = document.createElement('p');
    p.className = bad ? 'error' : 'done';
    p.textContent = text;
    el.replaceChildren(p);
  }

  async function refresh() {
    const j = await (await get('/api/people')).json();
    $('staff-list').replaceChildren(...j.staff.map((m) =>
      li(m.name + ' \u00b7 ' + n(m.faces, 'face', 'faces') + ' \u00b7 since ' + m.added, 'Remove',
        (item, b) => {
          b.hidden = true;
          confirmIn(item, 'Remove ' + m.name + ' from staff?', 'Remove', async (box) => {
            const r = await post('/api/people/staff/remove', { name: m.name });
            say(box, r.ok ? r.json.message : 'Not removed: ' + r.json.error, !r.ok);
            refresh();
          });
        })));
    if (!j.staff.length) $('staff-list').replaceChildren(li('No staff enrolled yet.'));
    $('mode-note').textContent = j.mode === 'consent'
      ? 'Consent mode: only the customers enrolled here are recognised; nobody else is remembered.'
      : 'Counting mode: everyone who passes is counted; a customer enrolled here keeps their visits and is known by name.';
    $('customer-list').replaceChildren(...j.customers.map((c) => {
      let text = c.name + ' \u00b7 ' + n(c.visits, 'visit', 'visits') + ' on ' + n(c.days, 'day', 'days');
      if (c.last_visit) text += ' \u00b7 last ' + c.last_visit;
      if (c.regular) text += ' \u00b7 regular';
      text += ' \u00b7 agreed ' + c.consented + (c.note ? ' (' + c.note + ')' : '');
      return li(text, 'Remove', (item, b) => {
        b.hidden = true;
        confirmIn(item, 'Remove ' + c.name + ' and forget their visits?', 'Remove and forget', async (box) => {
          const r = await post('/api/people/customers/remove', { name: c.name });
          say(box, r.ok ? r.json.message : 'Not removed: ' + r.json.error, !r.ok);
          refresh();
        });
      });
    }));
    if (!j.customers.length) $('customer-list').replaceChildren(li('No customer enrolled yet.'));
  }

  const purposeText = {
    staff: (n) => 'Enrolling ' + n + ' as staff',
    customer: (n) => 'Enrolling ' + n,
    forget: () => 'Looking at the person in front of the camera',
  };

  function showTask(t) {
    const box = $('task');
    if (t.state === 'idle') {
      box.hidden = true;
      return;
    }
    box.hidden = false;
    box.dataset.state = t.state;
    const prog = $('task-progress');
    if (t.state === 'collecting') {
      $('task-text').textContent = purposeText[t.purpose](t.name) + ': ' + t.got + ' of ' + t.want + ' faces. ' + (t.hint || '');
      prog.max = t.want || 1;
      prog.value = t.got;
      prog.hidden = false;
      $('task-cancel').hidden = false;
    } else {
      $('task-text').textContent = t.message || (t.state === 'done' ? 'Done.' : 'Not done.');
      prog.hidden = true;
      $('task-cancel').hidden = true;
    }
  }

  // watch follows the task using the camera until it ends.
  async function watch(id) {
    if (watching) return;
    watching = true;
    try {
      for (;;) {
        const t = await (await get('/api/capture')).json();
        showTask(t);
        if (t.state !== 'collecting') {
          if (t.id === id || id === undefined) ended(t);
          break;
        }
        await new Promise((r) => setTimeout(r, TASK_EVERY));
      }
    } catch (e) {
      // logged out or off: app.js says so
    } finally {
      watching = false;
    }
  }

  function ended(t) {
    for (const b of document.querySelectorAll('.enrol button, #forget-look')) b.disabled = false;
    if (t.state === 'done' && t.purpose !== 'forget') {
      for (const f of document.querySelectorAll('.enrol')) f.reset();
    }
    if (t.purpose === 'forget') showMatch(t);
    else refresh();
  }

  function showMatch(t) {
    const out = $('forget-result');
    out.hidden = false;
    const m = t.match;
    if (t.state !== 'done' || !m || !m.ref) {
      say(out, t.message || 'Nobody found.', t.state !== 'done');
      return;
    }
    let who = 'Visitor ' + m.who;
    if (m.customer) who += ' (enrolled customer ' + m.customer + ')';
    who += ': ' + n(m.visits, 'visit', 'visits') + ' on ' + n(m.days, 'day', 'days');
    if (m.last_local) who += ', last seen ' + m.last_local;
    out.replaceChildren();
    const p = document.createElement('p');
    p.id = 'forget-who';
    p.textContent = who + '.';
    out.appendChild(p);
    confirmIn(out, 'Forget this visitor and everything kept about them?', 'Forget', async (box) => {
      const r = await post('/api/forget', { ref: m.ref });
      say(out, r.ok ? r.json.message : 'Not forgotten: ' + r.json.error, !r.ok);
    }).querySelector('button.danger').id = 'forget-confirm';
  }

  async function start(body) {
    for (const b of document.querySelectorAll('.enrol button, #forget-look')) b.disabled = true;
    const r = await post('/api/capture', body);
    if (!r.ok) {
      for (const b of document.querySelectorAll('.enrol button, #forget-look')) b.disabled = false;
      showTask({ state: 'failed', message: 'Not started: ' + r.json.error });
      return;
    }
    showTask(r.json);
    watch(r.json.id);
  }

  $('staff-form').addEventListener('submit', (e) => {
    e.preventDefault();
    start({ purpose: 'staff', name: $('staff-name').value });
  });
  $('customer-form').addEventListener('submit', (e) => {
    e.preventDefault();
    start({ purpose: 'customer', name: $('customer-name').value, note: $('customer-note').value });
  });
  $('forget-look').addEventListener('click', () => {
    $('forget-result').hidden = true;
    start({ purpose: 'forget' });
  });
  $('task-cancel').addEventListener('click', () => post('/api/capture/cancel'));

  // The last visitors' lines get a Forget button (app.js draws them).
  window.joren.decisionCell = (d) => {
    const td = document.createElement('td');
    if (!d.ref) return td;
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'small-button';
    b.textContent = 'Forget';
    b.dataset.ref = d.ref;
    td.appendChild(b);
    return td;
  };
  // Delegated: the rows are redrawn every second, the question stays in
  // its own panel.
  $('decisions').addEventListener('click', (e) => {
    const b = e.target.closest('button[data-ref]');
    if (!b) return;
    const row = b.closest('tr');
    const out = $('forget-result');
    out.hidden = false;
    out.replaceChildren();
    const p = document.createElement('p');
    p.id = 'forget-who';
    p.textContent = 'Visitor ' + row.cells[1].textContent + ', seen at ' + row.cells[0].textContent + ' as ' +
      row.cells[2].textContent + ' (' + row.cells[3].textContent + ' visits on ' + row.cells[4].textContent + ' days).';
    out.appendChild(p);
    confirmIn(out, 'Forget this visitor and everything kept about them?', 'Forget', async () => {
      const r = await post('/api/forget', { ref: b.dataset.ref });
      say(out, r.ok ? r.json.message : 'Not forgotten: ' + r.json.error, !r.ok);
    }).querySelector('button.danger').id = 'forget-confirm';
    out.scrollIntoView({ block: 'center' });
  });

  refresh().catch(() => {});
  watch(); // a task started from another phone
})();
