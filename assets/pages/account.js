// The invite and password reset pages: check what the API checks, send it, show the answer.
'use strict';

(function () {
  const RESERVED = ['admin', 'no-reply', 'postmaster', 'mailer-daemon', 'root', 'admins', 'users'];
  const params = new URLSearchParams(window.location.search);
  const form = document.querySelector('form[data-page]');
  const message = document.getElementById('message');
  const done = document.getElementById('done');
  const button = form.querySelector('button[type="submit"]');

  function field(id) {
    return document.getElementById(id);
  }

  function clearProblems() {
    message.textContent = '';
    message.hidden = true;
    form.querySelectorAll('[aria-invalid]').forEach(function (input) {
      input.removeAttribute('aria-invalid');
    });
  }

  function showProblem(text, input) {
    message.textContent = text;
    message.hidden = false;
    if (input) {
      input.setAttribute('aria-invalid', 'true');
      input.focus();
    } else {
      message.focus();
    }
  }

  function passwordProblem() {
    const password = field('password').value;
    const length = Array.from(password).length;
    if (length < 8) {
      return ['The password must be at least 8 characters long', field('password')];
    }
    if (length > 256) {
      return ['The password must be at most 256 characters long', field('password')];
    }
    if (password !== field('password-repeat').value) {
      return ['The two passwords are not the same', field('password-repeat')];
    }
    return null;
  }

  function usernameProblem() {
    const input = field('username');
    const username = input.value.trim().toLowerCase();
    if (username === '') {
      return ['Choose a username', input];
    }
    if (Array.from(username).length >= 200) {
      return ['The username must be shorter than 200 characters', input];
    }
    if (!/^[a-z0-9.-]+$/.test(username)) {
      return ['A username can only contain letters, digits, dot and dash', input];
    }
    if (username.indexOf('.app') !== -1) {
      return ['A username cannot contain ".app"', input];
    }
    if (RESERVED.indexOf(username) !== -1) {
      return ['This username is reserved', input];
    }
    return null;
  }

  async function post(path, body) {
    const response = await fetch(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      credentials: 'omit',
    });
    let answer = {};
    try {
      answer = await response.json();
    } catch (ignored) {
      answer = {};
    }
    if (!response.ok) {
      throw new Error(answer.message || 'The server answered ' + response.status);
    }
    return answer;
  }

  const pages = {
    'setup-account': {
      token: 'inviteToken',
      prepare: function () {
        field('email').value = params.get('email') || '';
        const username = params.get('username');
        if (username) {
          field('username').value = username;
          field('username').readOnly = true;
        }
        field('display-name').value = params.get('displayName') || '';
      },
      check: function () {
        return usernameProblem() || passwordProblem();
      },
      send: function (token) {
        const username = field('username').value.trim().toLowerCase();
        document.querySelectorAll('[data-username]').forEach(function (element) {
          element.textContent = username;
        });
        return post('/api/v1/auth/setup_account', {
          inviteToken: token,
          username: username,
          displayName: field('display-name').value,
          password: field('password').value,
        });
      },
    },
    'password-reset': {
      token: 'resetToken',
      prepare: function () {},
      check: passwordProblem,
      send: function (token) {
        const body = { resetToken: token, password: field('password').value };
        const code = field('totp').value.trim();
        if (code !== '') {
          body.totpToken = code;
        }
        return post('/api/v1/auth/password_reset', body);
      },
    },
  };

  const page = pages[form.dataset.page];
  const token = params.get(page.token);
  page.prepare();
  if (!token) {
    showProblem('This link is incomplete: open the link from your email again.');
    button.disabled = true;
  }

  form.addEventListener('submit', async function (event) {
    event.preventDefault();
    clearProblems();
    const problem = page.check();
    if (problem) {
      showProblem(problem[0], problem[1]);
      return;
    }
    button.disabled = true;
    try {
      await page.send(token);
      form.hidden = true;
      done.hidden = false;
      done.focus();
    } catch (error) {
      showProblem(error.message);
    } finally {
      button.disabled = false;
    }
  });

  fetch('/api/v1/cloudron/status', { credentials: 'omit' })
    .then(function (response) {
      return response.json();
    })
    .then(function (status) {
      if (status.cloudronName) {
        document.querySelectorAll('[data-cloudron-name]').forEach(function (element) {
          element.textContent = status.cloudronName;
        });
        document.title = document.title + ' – ' + status.cloudronName;
      }
    })
    .catch(function () {});
})();
