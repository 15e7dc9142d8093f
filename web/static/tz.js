// Tell the server the viewer's time zone (IANA name) in a cookie, so pages
// render times in it. Reload once when it changes; never loop.
(function () {
  var z;
  try { z = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  if (!z) return;
  var m = document.cookie.match(/(?:^|; )pagerd_tz=([^;]*)/);
  if (m && decodeURIComponent(m[1]) === z) return;
  document.cookie = "pagerd_tz=" + encodeURIComponent(z) + "; path=/ui/; max-age=31536000; samesite=lax";
  try {
    if (sessionStorage.getItem("pagerd_tz_reloaded") === z) return;
    sessionStorage.setItem("pagerd_tz_reloaded", z);
  } catch (e) { return; }
  if (document.cookie.indexOf("pagerd_tz=") >= 0) location.reload();
})();
