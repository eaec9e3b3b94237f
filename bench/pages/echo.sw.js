// A Service Worker that answers POST /__echo itself with the body it was sent: the floor of a
// fetch() answered by a Service Worker, against which bench/http.mjs sets browserving's hop
// (which also forwards the request to the page and back over a MessagePort).
self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));
self.addEventListener('fetch', (event) => {
  if (new URL(event.request.url).pathname !== '/__echo') return;
  event.respondWith(event.request.arrayBuffer().then((body) => new Response(body, { headers: { 'Content-Type': 'application/json' } })));
});
