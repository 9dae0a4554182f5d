// Passkey ceremonies for the sign-in page and the account's passkey page (WebAuthn Level 3).
// The server hands out options as WebAuthn JSON and takes credentials as the JSON of
// PublicKeyCredential.toJSON(); the browser's own JSON helpers convert both ways.
// Forms opt in with data attributes: data-options (URL that starts a ceremony), a hidden
// input "credential", a button data-passkey-signin or data-passkey-add, and an element
// data-passkey-message for what to tell the person.
(() => {
  'use strict';

  const supported = typeof window.PublicKeyCredential === 'function'
    && typeof PublicKeyCredential.parseRequestOptionsFromJSON === 'function'
    && typeof PublicKeyCredential.parseCreationOptionsFromJSON === 'function';

  function say(form, text) {
    const box = form.querySelector('[data-passkey-message]');
    if (!box) return;
    box.textContent = text;
    box.hidden = !text;
  }

  function explain(error) {
    if (error && error.name === 'NotAllowedError') return 'The passkey request was cancelled or timed out. Try again when you are ready.';
    if (error && error.name === 'InvalidStateError') return 'This passkey is already registered for your account.';
    if (error && error.name === 'SecurityError') return 'This site cannot use passkeys at this address.';
    return 'Something went wrong with the passkey. Try again.';
  }

  async function fetchOptions(form) {
    const response = await fetch(form.dataset.options, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { RequestVerificationToken: form.querySelector('input[name="__RequestVerificationToken"]').value },
    });
    if (!response.ok) throw new Error(`options request failed: ${response.status}`);
    return response.json();
  }

  function submitCredential(form, credential) {
    form.querySelector('input[name="credential"]').value = JSON.stringify(credential.toJSON());
    form.submit();
  }

  // Sign-in: a button, plus conditional UI (autofill on the user-name field) where the browser has it.
  const signIn = document.querySelector('form[data-options] [data-passkey-signin]')?.form;
  if (signIn) {
    let conditional = null;
    const button = signIn.querySelector('[data-passkey-signin]');

    if (!supported) {
      button.disabled = true;
      say(signIn, 'This browser does not support passkeys. Sign in with your password.');
    } else {
      button.addEventListener('click', async () => {
        conditional?.abort();
        say(signIn, '');
        try {
          const options = PublicKeyCredential.parseRequestOptionsFromJSON(await fetchOptions(signIn));
          const credential = await navigator.credentials.get({ publicKey: options });
          if (credential) submitCredential(signIn, credential);
        } catch (error) {
          say(signIn, explain(error));
        }
      });

      (async () => {
        // Not after a failed passkey attempt: the browser could offer the same passkey again at once.
        if (signIn.dataset.conditional === 'off') return;
        if (!(await PublicKeyCredential.isConditionalMediationAvailable?.())) return;
        conditional = new AbortController();
        try {
          const options = PublicKeyCredential.parseRequestOptionsFromJSON(await fetchOptions(signIn));
          const credential = await navigator.credentials.get({ publicKey: options, mediation: 'conditional', signal: conditional.signal });
          if (credential) submitCredential(signIn, credential);
        } catch {
          // Aborted by the button, or dismissed: the button and the password form remain.
        }
      })();
    }
  }

  // Registration on the account page.
  const add = document.querySelector('form[data-options] [data-passkey-add]')?.form;
  if (add) {
    const button = add.querySelector('[data-passkey-add]');
    if (!supported) {
      button.disabled = true;
      say(add, 'This browser does not support passkeys.');
    } else {
      button.addEventListener('click', async () => {
        say(add, '');
        if (!add.reportValidity()) return;
        try {
          const options = PublicKeyCredential.parseCreationOptionsFromJSON(await fetchOptions(add));
          const credential = await navigator.credentials.create({ publicKey: options });
          if (credential) submitCredential(add, credential);
        } catch (error) {
          say(add, explain(error));
        }
      });
    }
  }
})();
