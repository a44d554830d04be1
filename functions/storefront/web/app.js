// knshop storefront and back office: one ES module, no build step, no
// dependencies. Every piece of text from the API is put in the page as a
// text node or an attribute value (h() below), never as HTML, so a product
// named <img src=x onerror=alert(1)> shows as those characters.

// ---------- DOM ----------

// h builds an element: props are attributes ("on*" functions become
// listeners), children are nodes or text.
function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

let uid = 0;
// field is a labelled control; control's id is made here.
function field(label, control, hint) {
  const id = control.id || `f${++uid}`;
  control.id = id;
  const hintEl = hint ? h('span', { class: 'muted', id: `${id}-hint` }, hint) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  const isCheck = control.type === 'checkbox';
  return h('div', { class: isCheck ? 'field check' : 'field' },
    isCheck ? [control, h('label', { for: id }, label)] : [h('label', { for: id }, label), control], hintEl);
}

function input(name, props) { return h('input', { name, ...props }); }
function select(name, options, value, props) {
  return h('select', { name, ...props }, options.map(([v, text]) => h('option', { value: v, selected: v === value }, text)));
}

// put replaces el's children; null and false children are left out.
function put(el, ...children) {
  el.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false)
    .map((c) => (c instanceof Node ? c : document.createTextNode(String(c)))));
  return el;
}

const view = () => document.getElementById('view');
function show(...children) {
  return put(view(), ...children);
}

// ---------- notices and problems ----------

let noticeAt = 0;
function notice(text, ok) {
  noticeAt = Date.now();
  const n = document.getElementById('notice');
  n.className = ok ? 'ok' : '';
  n.setAttribute('role', ok ? 'status' : 'alert');
  put(n, ...[].concat(text));
}
function clearNotice() { notice([]); }

// Problem is an API answer that is not a success, with its problem+json.
class Problem extends Error {
  constructor(status, body) {
    super((body && (body.detail || body.title)) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

// report shows what went wrong, in words, and marks the fields a
// validation problem names.
function report(err, form) {
  if (!(err instanceof Problem)) {
    notice(`Something went wrong: ${err.message}. Check your connection and try again.`);
    return;
  }
  const b = err.body;
  const title = { 400: 'Please check your input', 401: 'Please sign in', 403: 'Not allowed', 404: 'Not found',
    409: 'That cannot be done now', 429: 'Too many attempts', 502: 'A service is unavailable' }[err.status] || b.title || 'Error';
  const parts = [h('strong', {}, `${title}: `), b.detail || b.title || `HTTP ${err.status}`];
  const errors = Array.isArray(b.errors) ? b.errors : [];
  if (errors.length) parts.push(h('ul', {}, errors.map((e) => h('li', {}, `${e.field}: ${e.message}`))));
  notice(parts);
  if (form) {
    for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
    for (const e of errors) {
      const el = form.querySelector(`[name="${CSS.escape(e.field)}"]`);
      if (el) el.setAttribute('aria-invalid', 'true');
    }
  }
}

// ---------- session and API ----------

const SESSION = 'knshop.session';
const session = {
  get() { try { return JSON.parse(localStorage.getItem(SESSION)) || null; } catch { return null; } },
  set(s) { localStorage.setItem(SESSION, JSON.stringify(s)); },
  clear() { localStorage.removeItem(SESSION); },
};
const me = () => session.get()?.user || null;
const role = () => me()?.role || '';

async function refresh() {
  const s = session.get();
  if (!s?.refreshToken) return false;
  const res = await fetch('/api/auth/refresh', { method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify({ refreshToken: s.refreshToken }) });
  if (!res.ok) { session.clear(); renderNav(); return false; }
  const t = await res.json();
  session.set({ accessToken: t.accessToken, refreshToken: t.refreshToken, user: t.user });
  return true;
}

// api calls the knshop API with the user's token; an expired token is
// refreshed once. It returns the JSON answer (null for 204) or throws a
// Problem.
async function api(method, path, body, opts = {}) {
  for (let attempt = 0; ; attempt++) {
    const headers = { Accept: 'application/json, application/problem+json' };
    const token = session.get()?.accessToken;
    if (token && opts.auth !== false) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (opts.idempotencyKey) headers['Idempotency-Key'] = opts.idempotencyKey;
    const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    if (res.status === 401 && token && attempt === 0 && opts.auth !== false && (await refresh())) continue;
    const text = await res.text();
    let data = null;
    if (text) { try { data = JSON.parse(text); } catch { data = { detail: text.slice(0, 200) }; } }
    if (!res.ok) throw new Problem(res.status, data);
    return data;
  }
}

// ---------- formatting ----------

function money(m) {
  if (!m) return '';
  try { return new Intl.NumberFormat(undefined, { style: 'currency', currency: m.currency }).format(m.amount / 100); }
  catch { return `${(m.amount / 100).toFixed(2)} ${m.currency}`; }
}
function minor(text) {
  const n = Number(String(text).replace(',', '.'));
  return Number.isFinite(n) ? Math.round(n * 100) : NaN;
}
function when(at) { return at ? new Date(at).toLocaleString() : ''; }
function stars(r) { return r && r.count ? `★ ${r.average.toFixed(1)} (${r.count})` : 'No reviews yet'; }
function badge(status) { return h('span', { class: `badge ${status}` }, status); }
function short(id) { return String(id).slice(-8); }
function newKey() { return crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`; }

const cards = [
  ['pm_card_visa', 'Visa test card (succeeds)'],
  ['pm_card_chargeDeclined', 'Declined test card'],
  ['pm_card_chargeDeclinedInsufficientFunds', 'Test card without funds'],
];

// ---------- views: shopping ----------

const sorts = [['-createdAt', 'Newest'], ['price', 'Price, low to high'], ['-price', 'Price, high to low'], ['name', 'Name'], ['-rating', 'Best rated']];

async function browse(params) {
  const q = new URLSearchParams(params);
  const page = Math.max(1, Number(q.get('page')) || 1);
  const form = h('form', { class: 'search', role: 'search', 'aria-label': 'Search products', onsubmit: (e) => {
    e.preventDefault();
    const fd = new FormData(form);
    const next = new URLSearchParams();
    for (const [k, v] of fd.entries()) if (v !== '') next.set(k, v);
    location.hash = `#/?${next}`;
  } },
  field('Search', input('q', { type: 'search', value: q.get('q') || '', placeholder: 'mug, tea…' })),
  field('Category', input('category', { value: q.get('category') || '' })),
  field('Min price', input('minPrice', { type: 'number', min: 0, step: '0.01', value: q.get('minPrice') || '' })),
  field('Max price', input('maxPrice', { type: 'number', min: 0, step: '0.01', value: q.get('maxPrice') || '' })),
  field('Min rating', select('minRating', [['', 'Any'], ['1', '1+'], ['2', '2+'], ['3', '3+'], ['4', '4+']], q.get('minRating') || '')),
  field('Sort', select('sort', sorts, q.get('sort') || '-createdAt')),
  field('In stock only', input('inStock', { type: 'checkbox', value: 'true', checked: q.get('inStock') === 'true' })),
  h('button', { type: 'submit' }, 'Search'));
  const results = h('section', { 'aria-label': 'Results' }, h('p', { class: 'muted' }, 'Loading…'));
  show(h('h1', { tabindex: -1 }, 'Shop'), form, results);

  const apiQ = new URLSearchParams({ page: String(page), limit: '12' });
  for (const k of ['q', 'category', 'sort', 'minRating', 'inStock']) if (q.get(k)) apiQ.set(k, q.get(k));
  for (const k of ['minPrice', 'maxPrice']) if (q.get(k)) apiQ.set(k, String(minor(q.get(k))));
  const list = await api('GET', `/api/products?${apiQ}`);
  const pages = Math.max(1, Math.ceil(list.total / list.limit));
  const go = (p) => { q.set('page', String(p)); location.hash = `#/?${q}`; };
  put(results,
    h('p', { class: 'muted', role: 'status' }, `${list.total} product${list.total === 1 ? '' : 's'}`),
    h('ul', { class: 'grid' }, list.items.map(productCard)),
    h('div', { class: 'pager' },
      h('button', { class: 'secondary', disabled: page <= 1, onclick: () => go(page - 1) }, 'Previous'),
      `Page ${page} of ${pages}`,
      h('button', { class: 'secondary', disabled: page >= pages, onclick: () => go(page + 1) }, 'Next')));
}

function productCard(p) {
  return h('li', { class: 'card' },
    h('h2', {}, h('a', { href: `#/products/${encodeURIComponent(p.id)}` }, p.name)),
    h('span', { class: 'price' }, money(p.price)),
    h('span', { class: 'stars' }, stars(p.rating)),
    h('span', { class: 'muted' }, p.stock > 0 ? `${p.stock} in stock` : 'Out of stock'),
    role() === 'customer' && p.stock > 0 ? h('button', { onclick: () => addToCart(p, 1) , 'aria-label': `Add ${p.name} to cart` }, 'Add to cart') : null);
}

async function addToCart(p, qty) {
  try {
    const cart = await api('GET', '/api/cart');
    const have = cart.items.find((it) => it.productId === p.id)?.quantity || 0;
    await api('PUT', `/api/cart/items/${encodeURIComponent(p.id)}`, { quantity: have + qty });
    notice(`Added ${qty} × ${p.name} to your cart.`, true);
  } catch (err) { report(err); }
}

async function productPage(id) {
  const p = await api('GET', `/api/products/${encodeURIComponent(id)}`);
  const qty = input('quantity', { type: 'number', min: 1, max: Math.max(1, p.stock), value: 1, required: true });
  const buy = role() === 'customer' && p.stock > 0
    ? h('form', { class: 'inline', onsubmit: (e) => { e.preventDefault(); addToCart(p, Number(qty.value)); } },
      field('Quantity', qty), h('button', { type: 'submit' }, 'Add to cart'))
    : null;
  const reviews = h('section', { 'aria-labelledby': 'reviews-h' }, h('h2', { id: 'reviews-h' }, 'Reviews'));
  show(h('h1', { tabindex: -1 }, p.name),
    h('p', {}, h('span', { class: 'price' }, money(p.price)), ' · ', h('span', { class: 'stars' }, stars(p.rating)), ' · ',
      h('span', { class: 'muted' }, p.stock > 0 ? `${p.stock} in stock` : 'Out of stock')),
    p.images?.length ? h('div', { class: 'product-images row' }, p.images.map((src) => h('img', { src, alt: p.name }))) : null,
    h('p', {}, p.description), h('p', { class: 'muted' }, `Category: ${p.category}`), buy, reviews);
  await renderReviews(reviews, p, '-createdAt');
}

async function renderReviews(section, p, sort) {
  const list = await api('GET', `/api/products/${encodeURIComponent(p.id)}/reviews?sort=${encodeURIComponent(sort)}&limit=50`);
  const sorter = select('sort', [['-createdAt', 'Newest'], ['-rating', 'Best rated']], sort);
  sorter.addEventListener('change', () => renderReviews(section, p, sorter.value).catch(report));
  const user = me();
  const items = list.items.map((r) => h('article', { class: 'review' },
    h('p', {}, h('span', { class: 'stars', 'aria-label': `${r.rating} out of 5` }, '★'.repeat(r.rating) + '☆'.repeat(5 - r.rating)), ' ',
      h('strong', {}, r.title || '')),
    h('p', {}, r.body || ''),
    h('p', { class: 'muted' }, `${r.authorName || 'A customer'} · ${when(r.createdAt)}`),
    h('div', { class: 'row' },
      user && (user.id === r.authorId || user.role === 'admin')
        ? h('button', { class: 'secondary', onclick: () => act(() => api('DELETE', `/api/reviews/${encodeURIComponent(r.id)}`), 'Review deleted.', () => renderReviews(section, p, sort)) }, 'Delete') : null,
      user?.role === 'admin'
        ? h('button', { class: 'secondary', onclick: () => act(() => api('POST', `/api/reviews/${encodeURIComponent(r.id)}/hide`), 'Review hidden.', () => renderReviews(section, p, sort)) }, 'Hide') : null)));
  let form = null;
  if (role() === 'customer') {
    form = h('form', { 'aria-label': 'Write a review', onsubmit: async (e) => {
      e.preventDefault();
      const fd = new FormData(form);
      try {
        await api('POST', `/api/products/${encodeURIComponent(p.id)}/reviews`, { rating: Number(fd.get('rating')), title: fd.get('title'), body: fd.get('body') });
        notice('Thank you for your review.', true);
        await renderReviews(section, p, sort);
      } catch (err) { report(err, form); }
    } },
    h('h3', {}, 'Write a review'),
    field('Rating', select('rating', [['5', '5 – excellent'], ['4', '4'], ['3', '3'], ['2', '2'], ['1', '1 – poor']], '5')),
    field('Title', input('title', { maxlength: 200 })),
    field('Review', h('textarea', { name: 'body', maxlength: 5000 })),
    h('button', { type: 'submit' }, 'Post review'));
  }
  put(section, h('h2', { id: 'reviews-h' }, `Reviews (${list.total})`), field('Sort reviews', sorter),
    items.length ? items : h('p', { class: 'muted' }, 'No reviews yet.'), form);
}

// act runs a change, tells how it went, and refreshes.
async function act(change, done, then) {
  try {
    await change();
    notice(done, true);
    if (then) await then();
  } catch (err) { report(err); }
}

async function cartPage() {
  const cart = await api('GET', '/api/cart');
  const rows = cart.items.map((it) => {
    const qty = input('quantity', { type: 'number', min: 0, max: 10000, value: it.quantity, 'aria-label': `Quantity of ${it.name}` });
    return h('tr', {},
      h('td', {}, h('a', { href: `#/products/${encodeURIComponent(it.productId)}` }, it.name)),
      h('td', {}, money(it.unitPrice)),
      h('td', {}, h('form', { class: 'inline', onsubmit: (e) => { e.preventDefault(); act(() => api('PUT', `/api/cart/items/${encodeURIComponent(it.productId)}`, { quantity: Number(qty.value) }), 'Cart updated.', cartPage); } },
        qty, h('button', { type: 'submit', class: 'secondary' }, 'Update'))),
      h('td', {}, h('button', { class: 'secondary', onclick: () => act(() => api('DELETE', `/api/cart/items/${encodeURIComponent(it.productId)}`), 'Removed.', cartPage) }, `Remove ${it.name}`)));
  });
  if (!cart.items.length) {
    show(h('h1', { tabindex: -1 }, 'Your cart'), h('p', {}, 'Your cart is empty. ', h('a', { href: '#/' }, 'Go shopping')));
    return;
  }
  const key = newKey(); // one key per checkout form: a double submit places one order
  const saved = await api('GET', '/api/users/me').then((u) => u.addresses?.find((a) => a.isDefault) || u.addresses?.[0]).catch(() => null);
  const form = h('form', { 'aria-label': 'Checkout', onsubmit: async (e) => {
    e.preventDefault();
    const fd = new FormData(form);
    const shippingAddress = { line1: fd.get('line1'), city: fd.get('city'), postalCode: fd.get('postalCode'), country: String(fd.get('country')).toUpperCase() };
    if (fd.get('line2')) shippingAddress.line2 = fd.get('line2');
    try {
      form.querySelector('button[type=submit]').disabled = true;
      const order = await api('POST', '/api/orders', { shippingAddress, paymentMethod: fd.get('paymentMethod') }, { idempotencyKey: key });
      notice('Order placed. Follow it below.', true);
      location.hash = `#/orders/${encodeURIComponent(order.id)}`;
    } catch (err) {
      form.querySelector('button[type=submit]').disabled = false;
      report(err, form);
    }
  } },
  h('h2', {}, 'Checkout'),
  field('Address line 1', input('line1', { required: true, autocomplete: 'address-line1', value: saved?.line1 || '' })),
  field('Address line 2', input('line2', { autocomplete: 'address-line2', value: saved?.line2 || '' })),
  field('City', input('city', { required: true, autocomplete: 'address-level2', value: saved?.city || '' })),
  field('Postal code', input('postalCode', { required: true, autocomplete: 'postal-code', value: saved?.postalCode || '' })),
  field('Country', input('country', { required: true, maxlength: 2, minlength: 2, autocomplete: 'country', value: saved?.country || 'US' }), 'Two letters, e.g. US'),
  field('Payment card', select('paymentMethod', cards, 'pm_card_visa'), 'Sandbox test cards: no real money moves'),
  h('button', { type: 'submit' }, `Place order (${money(cart.total)})`));
  show(h('h1', { tabindex: -1 }, 'Your cart'),
    h('div', { class: 'table-wrap' }, h('table', {}, h('thead', {}, h('tr', {}, ['Product', 'Price', 'Quantity', ''].map((t) => h('th', { scope: 'col' }, t)))), h('tbody', {}, rows))),
    h('p', { class: 'price' }, `Total: ${money(cart.total)}`), form);
}

// ---------- views: orders, returns ----------

const terminal = new Set(['COMPLETED', 'CANCELLED']);

async function ordersPage() {
  const list = await api('GET', '/api/orders?limit=50');
  show(h('h1', { tabindex: -1 }, role() === 'admin' ? 'All orders' : 'Your orders'),
    list.items.length ? h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, ['Order', 'Placed', 'Status', 'Total'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, list.items.map((o) => h('tr', {},
        h('td', {}, h('a', { href: `#/${role() === 'admin' ? 'admin/' : ''}orders/${encodeURIComponent(o.id)}` }, `Order …${short(o.id)}`)),
        h('td', {}, when(o.createdAt)), h('td', {}, badge(o.status)), h('td', {}, money(o.total)))))))
      : h('p', {}, 'No orders yet. ', h('a', { href: '#/' }, 'Go shopping')));
}

async function orderPage(id, alive) {
  const status = h('p', { role: 'status', 'aria-live': 'polite' });
  const timeline = h('ol', { class: 'timeline', 'aria-label': 'Order timeline' });
  const details = h('div');
  const actions = h('div', { class: 'row' });
  const returns = h('section', { 'aria-labelledby': 'returns-h' });
  show(h('h1', { tabindex: -1 }, `Order …${short(id)}`), status, h('h2', {}, 'Timeline'), timeline, details, actions, returns);
  let last = '';
  let lastReturns = '';
  const draw = async () => {
    const o = await api('GET', `/api/orders/${encodeURIComponent(id)}`);
    const sig = JSON.stringify([o.status, o.history.length, o.payment, o.delivery]);
    if (sig !== last) {
      last = sig;
      put(status, 'Status: ', badge(o.status), o.cancelReason ? ` (${o.cancelReason.replaceAll('_', ' ')})` : '',
        o.deadline ? h('span', { class: 'muted' }, ` · pay by ${when(o.deadline)}`) : null);
      put(timeline, ...o.history.map((e) => h('li', {}, h('strong', {}, e.status), ' ', h('span', { class: 'muted' }, when(e.at)))));
      put(details,
        h('h2', {}, 'Items'),
        h('ul', {}, o.items.map((it) => h('li', {}, `${it.quantity} × `, h('a', { href: `#/products/${encodeURIComponent(it.productId)}` }, it.name), ` at ${money(it.unitPrice)}`,
          o.status === 'COMPLETED' && role() === 'customer' ? [' · ', h('a', { href: `#/products/${encodeURIComponent(it.productId)}` }, `Review ${it.name}`)] : null))),
        h('p', { class: 'price' }, `Total ${money(o.total)}`),
        h('p', { class: 'muted' }, `Ship to ${[o.shippingAddress.line1, o.shippingAddress.city, o.shippingAddress.postalCode, o.shippingAddress.country].join(', ')}`),
        o.payment ? h('p', {}, 'Payment: ', badge(o.payment.status)) : null,
        o.delivery ? h('p', {}, 'Delivery: ', badge(o.delivery.status), o.delivery.trackingNumber ? ` · tracking ${o.delivery.trackingNumber}` : '') : null);
      put(actions, ['PENDING', 'RESERVED', 'PAID'].includes(o.status)
        ? h('button', { class: 'danger', onclick: () => act(() => api('POST', `/api/orders/${encodeURIComponent(id)}/cancel`), 'Cancellation requested.', draw) }, 'Cancel order') : '');
    }
    if (o.status === 'COMPLETED') {
      const list = await api('GET', `/api/returns?orderId=${encodeURIComponent(id)}`);
      const sig2 = JSON.stringify(list.items.map((r) => [r.id, r.status]));
      if (sig2 !== lastReturns) { lastReturns = sig2; drawReturns(returns, o, list.items, draw); }
      return list.items.some((r) => r.status === 'REQUESTED' || r.status === 'RECEIVED');
    }
    return !terminal.has(o.status);
  };
  // The timeline moves by itself: poll while something can still change.
  const poll = async () => {
    if (!alive()) return;
    let more = true;
    try { more = await draw(); } catch (err) { report(err); }
    if (more && alive()) setTimeout(poll, 1000);
  };
  await poll();
}

function drawReturns(section, o, list, redraw) {
  const rows = list.map((r) => h('li', {}, badge(r.status), ` ${r.items.map((it) => `${it.quantity} × …${short(it.productId)}`).join(', ')} · ${money(r.amount)} · ${r.reason}`,
    r.refund ? h('span', { class: 'muted' }, ` · refund ${r.refund.id}`) : null));
  let form = null;
  if (role() === 'customer') {
    const key = newKey();
    form = h('form', { 'aria-label': 'Return items', onsubmit: async (e) => {
      e.preventDefault();
      const fd = new FormData(form);
      const items = o.items.map((it, i) => ({ productId: it.productId, quantity: Number(fd.get(`qty${i}`)) })).filter((it) => it.quantity > 0);
      try {
        await api('POST', `/api/orders/${encodeURIComponent(o.id)}/returns`, { items, reason: fd.get('reason') }, { idempotencyKey: key });
        notice('Return requested. Send the parcel back; the refund follows when it arrives.', true);
        await redraw();
        drawReturns(section, o, (await api('GET', `/api/returns?orderId=${encodeURIComponent(o.id)}`)).items, redraw);
      } catch (err) { report(err, form); }
    } },
    h('h3', {}, 'Return items'),
    o.items.map((it, i) => field(`Units of ${it.name} to return`, input(`qty${i}`, { type: 'number', min: 0, max: it.quantity, value: 0 }))),
    field('Reason', h('textarea', { name: 'reason', required: true, maxlength: 2000 })),
    h('button', { type: 'submit' }, 'Request return'));
  }
  put(section, h('h2', { id: 'returns-h' }, 'Returns'), rows.length ? h('ul', {}, rows) : h('p', { class: 'muted' }, 'No returns.'), form);
}

// ---------- views: account ----------

function authForm(kind) {
  const up = kind === 'signup';
  const form = h('form', { 'aria-label': up ? 'Create an account' : 'Sign in', onsubmit: async (e) => {
    e.preventDefault();
    const fd = new FormData(form);
    const body = { email: fd.get('email'), password: fd.get('password') };
    if (up) { body.name = fd.get('name'); body.role = fd.get('role'); }
    try {
      const t = await api('POST', up ? '/api/auth/register' : '/api/auth/login', body, { auth: false });
      session.set({ accessToken: t.accessToken, refreshToken: t.refreshToken, user: t.user });
      notice(`Welcome, ${t.user.name}.`, true);
      renderNav();
      location.hash = home();
    } catch (err) { report(err, form); }
  } },
  up ? field('Name', input('name', { required: true, autocomplete: 'name' })) : null,
  field('Email', input('email', { type: 'email', required: true, autocomplete: 'email' })),
  field('Password', input('password', { type: 'password', required: true, minlength: up ? 8 : null, autocomplete: up ? 'new-password' : 'current-password' }), up ? 'At least 8 characters' : null),
  up ? field('I am a', select('role', [['customer', 'Customer'], ['seller', 'Seller']], 'customer')) : null,
  h('button', { type: 'submit' }, up ? 'Create account' : 'Sign in'));
  show(h('h1', { tabindex: -1 }, up ? 'Create an account' : 'Sign in'), form,
    h('p', {}, up ? ['Have an account? ', h('a', { href: '#/signin' }, 'Sign in')] : ['New here? ', h('a', { href: '#/signup' }, 'Create an account')]));
}

function home() {
  return { seller: '#/seller', courier: '#/courier', admin: '#/admin/dead-letters' }[role()] || '#/';
}

async function signOut() {
  const s = session.get();
  session.clear();
  if (s?.refreshToken) await api('POST', '/api/auth/logout', { refreshToken: s.refreshToken }, { auth: false }).catch(() => {});
  renderNav();
  notice('Signed out.', true);
  location.hash = '#/';
}

// ---------- views: sellers ----------

async function sellerPage() {
  const user = me();
  const list = await api('GET', `/api/products?sellerId=${encodeURIComponent(user.id)}&limit=100`);
  show(h('h1', { tabindex: -1 }, 'My products'), h('p', {}, h('a', { class: 'button', href: '#/seller/new' }, 'Add a product')),
    list.items.length ? h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, ['Product', 'Price', 'Stock', ''].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, list.items.map((p) => {
        const stock = input('stock', { type: 'number', min: 0, value: p.stock, 'aria-label': `Stock of ${p.name}` });
        return h('tr', {},
          h('td', {}, h('a', { href: `#/products/${encodeURIComponent(p.id)}` }, p.name)),
          h('td', {}, money(p.price)),
          h('td', {}, h('form', { class: 'inline', onsubmit: (e) => { e.preventDefault(); act(() => api('PUT', `/api/products/${encodeURIComponent(p.id)}/stock`, { stock: Number(stock.value) }), 'Stock saved.', sellerPage); } },
            stock, h('button', { type: 'submit', class: 'secondary' }, 'Set stock'))),
          h('td', { class: 'row' }, h('a', { href: `#/seller/products/${encodeURIComponent(p.id)}` }, `Edit ${p.name}`),
            h('button', { class: 'danger', onclick: () => { if (confirm(`Remove ${p.name}?`)) act(() => api('DELETE', `/api/products/${encodeURIComponent(p.id)}`), 'Product removed.', sellerPage); } }, 'Remove')));
      })))) : h('p', {}, 'You have no products yet.'));
}

async function productForm(id) {
  const p = id ? await api('GET', `/api/products/${encodeURIComponent(id)}`) : null;
  const form = h('form', { 'aria-label': p ? 'Edit product' : 'New product', onsubmit: async (e) => {
    e.preventDefault();
    const fd = new FormData(form);
    const body = { name: fd.get('name'), description: fd.get('description'), category: fd.get('category'),
      price: { amount: minor(fd.get('price')), currency: p?.price.currency || 'USD' },
      images: String(fd.get('images')).split('\n').map((s) => s.trim()).filter(Boolean) };
    if (!p) body.stock = Number(fd.get('stock'));
    try {
      const saved = await api(p ? 'PATCH' : 'POST', p ? `/api/products/${encodeURIComponent(p.id)}` : '/api/products', body);
      notice(`${saved.name} saved.`, true);
      location.hash = '#/seller';
    } catch (err) { report(err, form); }
  } },
  field('Name', input('name', { required: true, value: p?.name || '' })),
  field('Description', h('textarea', { name: 'description', value: p?.description || '' })),
  field('Category', input('category', { required: true, value: p?.category || '' })),
  field('Price', input('price', { required: true, type: 'number', min: 0, step: '0.01', value: p ? (p.price.amount / 100).toFixed(2) : '' })),
  p ? null : field('Stock', input('stock', { required: true, type: 'number', min: 0, value: 0 })),
  field('Image URLs', h('textarea', { name: 'images', value: (p?.images || []).join('\n') }), 'One https URL per line'),
  h('button', { type: 'submit' }, p ? 'Save changes' : 'Add product'));
  show(h('h1', { tabindex: -1 }, p ? `Edit ${p.name}` : 'Add a product'), form);
}

// ---------- views: couriers ----------

async function courierPage() {
  const list = await api('GET', '/api/deliveries?limit=100');
  show(h('h1', { tabindex: -1 }, 'My deliveries'), list.items.length ? h('ul', { class: 'grid' }, list.items.map((d) => {
    let next = null;
    if (d.status === 'STARTED') {
      const tracking = input('trackingNumber', { required: true, 'aria-label': `Tracking number for delivery …${short(d.id)}` });
      next = h('form', { class: 'inline', onsubmit: (e) => { e.preventDefault(); act(() => api('POST', `/api/deliveries/${encodeURIComponent(d.id)}/events`, { status: 'COURIERED', trackingNumber: tracking.value }), 'Marked couriered.', courierPage); } },
        tracking, h('button', { type: 'submit' }, 'Mark couriered'));
    } else if (d.status === 'COURIERED') {
      next = h('button', { onclick: () => act(() => api('POST', `/api/deliveries/${encodeURIComponent(d.id)}/events`, { status: 'DELIVERED' }), 'Marked delivered.', courierPage) }, 'Mark delivered');
    }
    return h('li', { class: 'card' }, h('h2', {}, `Delivery …${short(d.id)}`), h('p', {}, badge(d.status)),
      h('p', { class: 'muted' }, `Order …${short(d.orderId)}${d.trackingNumber ? ` · tracking ${d.trackingNumber}` : ''}`), next);
  })) : h('p', {}, 'No deliveries are assigned to you.'));
}

// ---------- views: admins ----------

async function deadLetters() {
  const list = await api('GET', '/api/admin/dead-letters?limit=100');
  show(h('h1', { tabindex: -1 }, 'Dead letters'),
    h('p', { class: 'muted' }, 'Events a function could not take after every retry. Replay sends one back to the Broker.'),
    list.items.length ? h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, ['Event', 'From', 'Error', 'Arrivals', 'Received', 'Replayed', ''].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, list.items.map((d) => h('tr', {},
        h('td', {}, d.type || ''), h('td', {}, d.source || ''), h('td', {}, `${d.knativeerrorcode ?? ''} ${d.knativeerrordest || ''}`),
        h('td', {}, String(d.arrivals ?? 1)), h('td', {}, when(d.receivedAt)), h('td', {}, d.replayedAt ? when(d.replayedAt) : 'never'),
        h('td', {}, h('button', { onclick: () => act(() => api('POST', `/api/admin/dead-letters/${encodeURIComponent(d.id)}/replay`), `Replayed ${d.type}.`, deadLetters), 'aria-label': `Replay ${d.type} ${short(d.id)}` }, 'Replay')))))))
      : h('p', {}, 'No dead letters. Everything was delivered.'));
}

async function adminOrderPage(id, alive) {
  const status = h('p', { role: 'status' });
  const entries = h('ol', { class: 'timeline', 'aria-label': 'Everything that happened to the order' });
  show(h('h1', { tabindex: -1 }, `Order …${short(id)}: timeline`), status, entries);
  let count = -1;
  const poll = async () => {
    if (!alive()) return;
    try {
      const [o, t] = await Promise.all([api('GET', `/api/orders/${encodeURIComponent(id)}`), api('GET', `/api/admin/orders/${encodeURIComponent(id)}/timeline`)]);
      put(status, 'Status: ', badge(o.status), ' · customer ', h('a', { href: `#/admin/users?id=${encodeURIComponent(o.customerId)}` }, o.customerId));
      if (t.entries.length !== count) {
        count = t.entries.length;
        put(entries, ...t.entries.map((e) => h('li', {}, h('strong', {}, `${e.kind}: ${e.type}`), ' ',
          h('span', { class: 'muted' }, `${when(e.at)} · ${e.source}${e.detail?.function ? ` → ${e.detail.function} ${e.detail.status ?? ''}` : ''}${e.detail?.attempt ? ` (attempt ${e.detail.attempt})` : ''}`))));
      }
    } catch (err) { report(err); }
    if (alive()) setTimeout(poll, 2000);
  };
  await poll();
}

async function adminReturns() {
  const list = await api('GET', '/api/returns?limit=100');
  show(h('h1', { tabindex: -1 }, 'Returns'), list.items.length ? h('ul', { class: 'grid' }, list.items.map((r) => {
    const reason = input('reason', { required: true, 'aria-label': `Reason to reject return …${short(r.id)}` });
    return h('li', { class: 'card' }, h('h2', {}, `Return …${short(r.id)}`), h('p', {}, badge(r.status), ` ${money(r.amount)}`),
      h('p', {}, r.reason), h('p', { class: 'muted' }, h('a', { href: `#/admin/orders/${encodeURIComponent(r.orderId)}` }, `Order …${short(r.orderId)}`)),
      r.status === 'REQUESTED' ? [
        h('button', { onclick: () => act(() => api('POST', `/api/returns/${encodeURIComponent(r.id)}/receive`), 'Return received: restock and refund follow.', adminReturns) }, 'Receive'),
        h('form', { class: 'inline', onsubmit: (e) => { e.preventDefault(); act(() => api('POST', `/api/returns/${encodeURIComponent(r.id)}/reject`, { reason: reason.value }), 'Return rejected.', adminReturns); } },
          reason, h('button', { type: 'submit', class: 'danger' }, 'Reject'))] : null);
  })) : h('p', {}, 'No returns.'));
}

async function adminUsers(params) {
  const id = new URLSearchParams(params).get('id') || '';
  const form = h('form', { class: 'inline', role: 'search', onsubmit: (e) => { e.preventDefault(); location.hash = `#/admin/users?id=${encodeURIComponent(new FormData(form).get('id'))}`; } },
    field('User id', input('id', { required: true, value: id })), h('button', { type: 'submit' }, 'Look up'));
  const out = h('section');
  show(h('h1', { tabindex: -1 }, 'Users'), form, out);
  if (!id) return;
  const u = await api('GET', `/api/users/${encodeURIComponent(id)}`);
  const roleSel = select('role', [['customer', 'Customer'], ['seller', 'Seller'], ['courier', 'Courier'], ['admin', 'Admin']], u.role);
  put(out, h('h2', {}, u.name), h('p', {}, u.email), h('p', { class: 'muted' }, `Since ${when(u.createdAt)}`),
    h('form', { class: 'inline', onsubmit: (e) => { e.preventDefault(); act(() => api('PATCH', `/api/users/${encodeURIComponent(id)}/role`, { role: roleSel.value }), 'Role changed.', () => adminUsers(params)); } },
      field('Role', roleSel), h('button', { type: 'submit' }, 'Change role')));
}

// ---------- navigation ----------

function renderNav() {
  const r = role();
  const link = (href, text) => h('li', {}, h('a', { href }, text));
  const items = [link('#/', 'Shop')];
  if (r === 'customer') items.push(link('#/cart', 'Cart'), link('#/orders', 'Orders'));
  if (r === 'seller') items.push(link('#/seller', 'My products'));
  if (r === 'courier') items.push(link('#/courier', 'Deliveries'));
  if (r === 'admin') items.push(link('#/admin/dead-letters', 'Dead letters'), link('#/orders', 'Orders'), link('#/admin/returns', 'Returns'), link('#/admin/users', 'Users'));
  if (r) items.push(h('li', { class: 'who' }, `${me().name} (${r})`), h('li', {}, h('button', { class: 'link', onclick: signOut }, 'Sign out')));
  else items.push(link('#/signin', 'Sign in'), link('#/signup', 'Create account'));
  document.getElementById('nav').replaceChildren(h('ul', {}, items));
}

const routes = [
  [/^#?\/?(?:\?(.*))?$/, (m) => browse(m[1] || '')],
  [/^#\/products\/([^/?]+)$/, (m) => productPage(decodeURIComponent(m[1]))],
  [/^#\/cart$/, cartPage, 'customer'],
  [/^#\/orders$/, ordersPage, 'signed'],
  [/^#\/orders\/([^/?]+)$/, (m, alive) => orderPage(decodeURIComponent(m[1]), alive), 'signed'],
  [/^#\/signin$/, () => authForm('signin')],
  [/^#\/signup$/, () => authForm('signup')],
  [/^#\/seller$/, sellerPage, 'seller'],
  [/^#\/seller\/new$/, () => productForm(null), 'seller'],
  [/^#\/seller\/products\/([^/?]+)$/, (m) => productForm(decodeURIComponent(m[1])), 'seller'],
  [/^#\/courier$/, courierPage, 'courier'],
  [/^#\/admin\/dead-letters$/, deadLetters, 'admin'],
  [/^#\/admin\/orders\/([^/?]+)$/, (m, alive) => adminOrderPage(decodeURIComponent(m[1]), alive), 'admin'],
  [/^#\/admin\/returns$/, adminReturns, 'admin'],
  [/^#\/admin\/users(?:\?(.*))?$/, (m) => adminUsers(m[1] || ''), 'admin'],
];

let generation = 0;
async function route() {
  const gen = ++generation;
  const alive = () => gen === generation;
  const hash = location.hash || '#/';
  for (const [re, render, needs] of routes) {
    const m = hash.match(re);
    if (!m) continue;
    const r = role();
    if (needs && !r) { notice('Please sign in first.'); location.hash = '#/signin'; return; }
    if (needs && needs !== 'signed' && r !== needs && !(needs === 'seller' && r === 'admin')) {
      show(h('h1', { tabindex: -1 }, 'Not allowed'), h('p', {}, `This page is for ${needs}s.`));
      return;
    }
    try {
      await render(m, alive);
    } catch (err) {
      if (!alive()) return;
      if (err instanceof Problem && err.status === 401) { session.clear(); renderNav(); notice('Your session ended; please sign in again.'); location.hash = '#/signin'; return; }
      report(err);
      if (err instanceof Problem && err.status === 404) show(h('h1', { tabindex: -1 }, 'Not found'), h('p', {}, h('a', { href: '#/' }, 'Back to the shop')));
    }
    if (alive()) {
      view().querySelector('h1')?.focus();
      // For the first-render benchmark and real-user monitoring.
      if (!performance.getEntriesByName('knshop:first-view').length) performance.mark('knshop:first-view');
    }
    return;
  }
  show(h('h1', { tabindex: -1 }, 'Not found'), h('p', {}, h('a', { href: '#/' }, 'Back to the shop')));
}

// A notice set just before navigating stays for the next view; anything
// older is cleared.
window.addEventListener('hashchange', () => {
  if (Date.now() - noticeAt > 1500) clearNotice();
  route();
});

renderNav();
route();
