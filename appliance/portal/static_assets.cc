// The portal's style sheet (see static_assets.h).
#include "appliance/portal/static_assets.h"

namespace vmx::portal {

std::string_view portal_stylesheet() noexcept {
    return R"css(body { font-family: system-ui, sans-serif; margin: 0; color: #1b1f24; background: #f6f7f9; }
header { background: #1f3a5f; color: #fff; padding: 0.5rem 1.5rem; }
header h1 { margin: 0.3rem 0; font-size: 1.3rem; }
nav ul { list-style: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap; gap: 1rem; }
nav a { color: #fff; }
nav .signout { margin-top: 0.4rem; }
main { max-width: 60rem; margin: 1.5rem auto; background: #fff; padding: 1rem 2rem 2rem; border-radius: 6px; }
table { border-collapse: collapse; width: 100%; margin: 0.5rem 0 1.5rem; }
th, td { text-align: left; border-bottom: 1px solid #dde1e6; padding: 0.35rem 0.5rem; font-size: 0.92rem; }
form.inline { display: inline; }
label { display: block; margin: 0.6rem 0 0.2rem; }
input[type=text], input[type=password], input[type=email] { width: 20rem; max-width: 100%; padding: 0.35rem; }
button { margin-top: 0.6rem; padding: 0.35rem 0.9rem; }
.notice { background: #e8f4ea; border: 1px solid #9bc7a3; padding: 0.6rem; }
.problem { background: #fbeaea; border: 1px solid #d99; padding: 0.6rem; }
.secret { font-family: monospace; font-size: 1.1rem; background: #f1f1f1; padding: 0.3rem; }
.failure { color: #9b1c1c; }
svg.qr { width: 12rem; height: 12rem; }
)css";
}

// Served as a file of its own (CSP: script-src 'self', no inline script). It only turns the
// ceremony's options into WebAuthn calls and the answers into form fields; every check is the daemon's.
std::string_view webauthn_script() noexcept {
    return R"js("use strict";
(function () {
  function toB64u(buffer) {
    const bytes = new Uint8Array(buffer);
    let text = "";
    for (let i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function fromB64u(text) {
    const plain = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
    const bytes = new Uint8Array(plain.length);
    for (let i = 0; i < plain.length; i++) bytes[i] = plain.charCodeAt(i);
    return bytes;
  }
  async function options(path, form) {
    const body = new URLSearchParams({ csrf: form.querySelector("[name=csrf]").value });
    const answer = await fetch(path, { method: "POST", body: body, credentials: "same-origin", cache: "no-store" });
    const json = await answer.json();
    if (!answer.ok) throw new Error(json.error || "the portal refused");
    return json;
  }
  function fail(error) {
    const shown = document.getElementById("key-error");
    if (shown) { shown.textContent = "The security key did not answer: " + error.message; shown.hidden = false; }
  }
  function set(form, name, value) { form.querySelector("[name=" + name + "]").value = value; }

  async function register(form) {
    const o = await options("/security-keys/begin", form);
    const credential = await navigator.credentials.create({ publicKey: {
      challenge: fromB64u(o.challenge),
      rp: { id: o.rp_id, name: "vaultmx" },
      user: { id: fromB64u(o.user_id), name: o.user_name, displayName: o.user_name },
      pubKeyCredParams: [{ type: "public-key", alg: -7 }, { type: "public-key", alg: -8 }],
      excludeCredentials: o.exclude.map(function (id) { return { type: "public-key", id: fromB64u(id) }; }),
      authenticatorSelection: { userVerification: "preferred" },
      attestation: "none",
      timeout: 60000 } });
    set(form, "client_data", toB64u(credential.response.clientDataJSON));
    set(form, "attestation", toB64u(credential.response.attestationObject));
    form.submit();
  }

  async function signIn(form) {
    const o = await options("/login/key/begin", form);
    const credential = await navigator.credentials.get({ publicKey: {
      challenge: fromB64u(o.challenge),
      rpId: o.rp_id,
      allowCredentials: o.allow.map(function (id) { return { type: "public-key", id: fromB64u(id) }; }),
      userVerification: "preferred",
      timeout: 60000 } });
    set(form, "id", toB64u(credential.rawId));
    set(form, "client_data", toB64u(credential.response.clientDataJSON));
    set(form, "authenticator_data", toB64u(credential.response.authenticatorData));
    set(form, "signature", toB64u(credential.response.signature));
    form.submit();
  }

  function wire(id, run) {
    const form = document.getElementById(id);
    if (!form) return;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      run(form).catch(fail);
    });
  }
  wire("register-key", register);
  wire("key-login", signIn);
})();
)js";
}

}  // namespace vmx::portal
