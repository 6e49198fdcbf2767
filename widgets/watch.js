// Reruns the fragment the component sits in (its "changed" trigger) when the server's answer at data.url
// differs from data.version, the one the fragment was drawn with; asks every data.poll_ms. Nothing is
// shown. A tab in the background asks nothing; it asks at once when it is shown again.

const RETRY_MS = 10000;  // a trigger that brought no new drawing (a lost rerun) is sent again after this

async function answer(url) {
  try {
    const response = await fetch(url, { cache: "no-store", credentials: "same-origin" });
    const type = response.headers.get("content-type") || "";
    if (response.ok && type.includes("json")) return (await response.json()).version || null;
  } catch (error) {
    // the server is restarting or the network dropped: rerun as a plain poll would
  }
  return null;  // no route (a server without serve.py), a deleted run, or an error: rerun to find out
}

function fire(watch, version) {
  watch.asked = version;
  watch.askedAt = Date.now();
  watch.trigger("changed", version);
}

async function poll(watch) {
  if (watch.busy || document.hidden) return;
  const d = watch.data;
  if (d.rerun_after_ms && Date.now() - watch.drawnAt > d.rerun_after_ms && Date.now() - watch.askedAt > RETRY_MS) {
    return fire(watch, `quiet ${Date.now()}`);
  }
  if (!d.url) return;
  watch.busy = true;
  try {
    const version = (await answer(d.url)) || `unknown ${Date.now()}`;
    const repeat = version === watch.asked && Date.now() - watch.askedAt < RETRY_MS;
    if (version !== d.version && !repeat && watch.data === d) fire(watch, version);
  } finally {
    watch.busy = false;
  }
}

export default function (component) {
  const { parentElement, setTriggerValue } = component;
  const data = component.data[0]; // see widgets/assets.py, sent()
  const watch = parentElement.__watch || (parentElement.__watch = { busy: false, asked: null, askedAt: 0 });
  // Streamlit may call this with an older rerun's data after a newer one: the revision keeps the newest.
  if (watch.data && data.revision < watch.data.revision) return;
  if (!watch.data || data.revision !== watch.data.revision) watch.drawnAt = Date.now();
  watch.data = data;
  watch.trigger = setTriggerValue;
  if (!watch.timer || watch.period !== data.poll_ms) {
    clearInterval(watch.timer);
    if (watch.onShow) document.removeEventListener("visibilitychange", watch.onShow);
    watch.period = data.poll_ms;
    watch.timer = setInterval(() => poll(watch), data.poll_ms);
    watch.onShow = () => poll(watch);
    document.addEventListener("visibilitychange", watch.onShow);
  }
  return () => {
    clearInterval(watch.timer);
    document.removeEventListener("visibilitychange", watch.onShow);
    watch.timer = null;
  };
}
