import { ADMIN_TOKEN_STORAGE_KEY } from '../management.constants.js';

/**
 * The admin page's script, served as `/{path}/admin/app.js`: plain browser JavaScript, no build
 * step. It asks for the admin token once per tab (`sessionStorage`), sends it as a bearer token,
 * and renders every tab from the JSON API without reloading the page. Data from the API only ever
 * reaches the page as text (`textContent`, `title`), never as HTML.
 *
 * Kept free of template literals so that it can live in this TypeScript string.
 */
export const ADMIN_PAGE_SCRIPT = String.raw`(function () {
  'use strict';

  var TOKEN_KEY = '${ADMIN_TOKEN_STORAGE_KEY}';
  var PAGE_SIZE = 50;
  var base = location.pathname.replace(/\/+$/, '').replace(/\/admin$/, '');

  var ICONS = {
    view: '<svg viewBox="0 0 24 24"><path d="M14 3H7a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h10a2 2 0 0 0 2-2V8z"/><path d="M14 3v5h5M9 13h6M9 17h6"/></svg>',
    sync: '<svg viewBox="0 0 24 24"><path d="M20 12a8 8 0 0 1-14.3 4.9M4 12a8 8 0 0 1 14.3-4.9"/><path d="M18.5 3v4.2h-4.2M5.5 21v-4.2h4.2"/></svg>',
    del: '<svg viewBox="0 0 24 24"><path d="M6 6l12 12M18 6L6 18"/></svg>',
    edit: '<svg viewBox="0 0 24 24"><path d="M4 20h4L19 9a2.8 2.8 0 0 0-4-4L4 16z"/></svg>',
    requeue: '<svg viewBox="0 0 24 24"><path d="M4 7h11a5 5 0 0 1 0 10H8"/><path d="M8 3L4 7l4 4"/></svg>'
  };

  // One status per synchronization (R-DEL-7), as the API reports it.
  var STATUS_LABELS = { waiting: 'Waiting', failed: 'Failed', retrying: 'Retrying', skipped: 'Skipped', parked: 'Parked' };

  var SETTINGS = [
    { key: 'enabled', name: 'Enable system integration bus',
      desc: 'The bus logs and processes incoming and outgoing tasks. The four switches below work only while this one is on.' },
    { key: 'logOutgoing', name: 'Enable logging of outgoing tasks', dependent: true,
      desc: 'Changes to subscribed objects and documents are logged as outgoing tasks.' },
    { key: 'processOutgoing', name: 'Enable processing of outgoing tasks', dependent: true,
      desc: 'Logged outgoing tasks are handed to their connectors.' },
    { key: 'logIncoming', name: 'Enable logging of incoming tasks', dependent: true,
      desc: 'Tasks received from external systems are logged as incoming tasks.' },
    { key: 'processIncoming', name: 'Enable processing of incoming tasks', dependent: true,
      desc: 'Logged incoming tasks are applied to the application.' }
  ];

  var state = {
    token: sessionStorage.getItem(TOKEN_KEY),
    settings: null,
    connectors: [],
    tab: null,
    lists: { outgoing: newList(), incoming: newList() },
    events: { items: [], cursor: null },
    editing: null
  };

  function statusNode(item, onclick) {
    var label = STATUS_LABELS[item.status] || item.status;
    if (item.status === 'waiting') {
      return h('span', { className: 'waiting', text: item.blockedBy ? 'Waiting behind task ' + item.blockedBy : 'Waiting' });
    }
    return h('button', { type: 'button', className: 'link status-' + item.status + (item.status === 'failed' ? ' failed' : ''),
      title: item.errorMessage || label, text: label, onclick: onclick });
  }

  function statusDetails(item) {
    var parts = [];
    if (item.errorMessage && item.status !== 'waiting') parts.push(item.errorMessage);
    if (item.nextAttemptAt) parts.push('next attempt ' + formatTime(item.nextAttemptAt));
    if (item.attempts) parts.push(item.attempts + (item.attempts === 1 ? ' attempt' : ' attempts'));
    return parts.length ? h('span', { className: 'sub status-details', text: parts.join(' · ') }) : null;
  }

  function newList() {
    return { items: [], cursor: null, selected: new Map(), connector: '', status: '', loading: false };
  }

  // ---- small helpers -------------------------------------------------------------------------

  function $(selector, root) { return (root || document).querySelector(selector); }

  /** Creates an element; children are nodes or strings (always inserted as text). */
  function h(tag, props, children) {
    var el = document.createElement(tag);
    Object.keys(props || {}).forEach(function (key) {
      var value = props[key];
      if (value === undefined || value === null || value === false) return;
      if (key === 'className') el.className = value;
      else if (key === 'text') el.textContent = value;
      else if (key.indexOf('on') === 0) el.addEventListener(key.slice(2), value);
      else el.setAttribute(key, value === true ? '' : String(value));
    });
    (children || []).forEach(function (child) {
      if (child === null || child === undefined) return;
      el.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
    });
    return el;
  }

  function iconButton(kind, label, onClick, disabled, disabledTitle) {
    var button = h('button', {
      type: 'button', className: 'icon-button ' + kind, 'aria-label': label,
      title: disabled ? disabledTitle : label, disabled: disabled, onclick: onClick
    });
    button.innerHTML = ICONS[kind === 'delete' ? 'del' : kind];
    return button;
  }

  function formatTime(value) {
    if (!value) return '';
    var date = new Date(value);
    return isNaN(date.getTime()) ? String(value) : date.toLocaleString();
  }

  function valueNode(value) {
    if (value === null || value === undefined) return h('span', { className: 'null', text: 'null' });
    var text = typeof value === 'object' ? JSON.stringify(value, null, 2) : String(value);
    return h('span', { className: 'value', text: text });
  }

  function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); return el; }

  function toast(message, isError) {
    var el = h('div', { className: 'toast' + (isError ? ' error' : ''), role: isError ? 'alert' : 'status', text: message });
    var box = $('#toasts');
    box.appendChild(el);
    while (box.children.length > 3) box.removeChild(box.firstChild);
    setTimeout(function () { el.remove(); }, isError ? 7000 : 3500);
  }

  function fail(error) {
    if (error && error.status === 401) return;
    toast(error && error.message ? error.message : String(error), true);
  }

  function describeResults(results) {
    var names = { OK: 'OK', ERROR: 'error', ERRORANDSKIP: 'error and skip', SKIPNOW: 'skipped now' };
    var parts = Object.keys(names).filter(function (k) { return results && results[k]; })
      .map(function (k) { return results[k] + ' ' + names[k]; });
    return parts.length ? parts.join(', ') : 'nothing to process';
  }

  function confirmAction(title, text, okLabel) {
    var dialog = $('#confirm-dialog');
    $('#confirm-title').textContent = title;
    $('#confirm-text').textContent = text;
    $('#confirm-ok').textContent = okLabel || 'Delete';
    dialog.showModal();
    return new Promise(function (resolve) {
      function done(answer) {
        $('#confirm-ok').removeEventListener('click', yes);
        $('#confirm-cancel').removeEventListener('click', no);
        dialog.removeEventListener('cancel', no);
        dialog.close();
        resolve(answer);
      }
      function yes() { done(true); }
      function no() { done(false); }
      $('#confirm-ok').addEventListener('click', yes);
      $('#confirm-cancel').addEventListener('click', no);
      dialog.addEventListener('cancel', no);
    });
  }

  // ---- API -----------------------------------------------------------------------------------

  function api(method, path, body) {
    var headers = { Accept: 'application/json' };
    if (state.token) headers.Authorization = 'Bearer ' + state.token;
    var init = { method: method, headers: headers };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return fetch(base + path, init).then(function (res) {
      return res.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = { message: text }; }
        if (!res.ok) {
          var error = new Error((data && data.message) || res.statusText || ('HTTP ' + res.status));
          error.status = res.status;
          if (res.status === 401) showLogin(state.token ? 'The token was not accepted. Enter it again.' : null);
          throw error;
        }
        return data;
      });
    });
  }

  function query(params) {
    var parts = Object.keys(params).filter(function (k) { return params[k] !== undefined && params[k] !== ''; })
      .map(function (k) { return encodeURIComponent(k) + '=' + encodeURIComponent(params[k]); });
    return parts.length ? '?' + parts.join('&') : '';
  }

  // ---- sign-in -------------------------------------------------------------------------------

  function showLogin(message) {
    $('#main').hidden = true;
    $('#sign-out').hidden = true;
    var dialog = $('#login-dialog');
    var error = $('#login-error');
    error.hidden = !message;
    error.textContent = message || '';
    if (!dialog.open) dialog.showModal();
    $('#login-token').focus();
  }

  function signIn(token) {
    state.token = token;
    return api('GET', '/settings').then(function (settings) {
      if (token) sessionStorage.setItem(TOKEN_KEY, token);
      $('#login-dialog').close();
      $('#sign-out').hidden = !token;
      $('#main').hidden = false;
      applySettings(settings);
      return loadConnectors().then(function () {
        selectTab(tabFromHash() || state.tab || 'outgoing');
      });
    }, function (error) {
      if (error.status === 403) {
        showLogin(error.message);
      } else if (error.status !== 401) {
        showLogin(error.message);
      }
    });
  }

  // ---- tabs ----------------------------------------------------------------------------------

  function tabFromHash() {
    var name = location.hash.replace('#', '');
    return document.getElementById('panel-' + name) ? name : null;
  }

  function selectTab(name) {
    state.tab = name;
    document.querySelectorAll('[role=tab]').forEach(function (tab) {
      var selected = tab.getAttribute('data-tab') === name;
      tab.setAttribute('aria-selected', String(selected));
      tab.tabIndex = selected ? 0 : -1;
    });
    document.querySelectorAll('.panel').forEach(function (panel) {
      panel.hidden = panel.id !== 'panel-' + name;
    });
    if (location.hash !== '#' + name) history.replaceState(null, '', '#' + name);
    if (name === 'outgoing' || name === 'incoming') return loadTasks(name, false).catch(fail);
    if (name === 'connectors') return loadConnectors().catch(fail);
    if (name === 'settings') return api('GET', '/settings').then(applySettings).catch(fail);
    if (name === 'events') return loadEvents(false).catch(fail);
  }

  // ---- settings ------------------------------------------------------------------------------

  function processingOn(direction) {
    var s = state.settings;
    if (!s) return false;
    return s.enabled && (direction === 'incoming' ? s.processIncoming : s.processOutgoing);
  }

  function applySettings(settings) {
    state.settings = settings;
    var pills = clear($('#status-pills'));
    [['Bus', settings.enabled], ['Outgoing processing', processingOn('outgoing')],
      ['Incoming processing', processingOn('incoming')]].forEach(function (pill) {
      pills.appendChild(h('span', { className: 'pill ' + (pill[1] ? 'on' : 'off'), text: pill[0] + ': ' + (pill[1] ? 'on' : 'off') }));
    });
    renderSettings();
    ['outgoing', 'incoming'].forEach(function (direction) {
      var panel = panelOf(direction);
      var note = $('.processing-off', panel);
      if (!note) return;
      note.hidden = processingOn(direction);
      note.textContent = 'Processing of ' + direction + ' tasks is switched off in Settings: Synchronize is unavailable.';
      renderTasks(direction);
    });
  }

  function renderSettings() {
    var list = clear($('#settings-list'));
    var s = state.settings;
    SETTINGS.forEach(function (setting) {
      var id = 'setting-' + setting.key;
      var input = h('input', { type: 'checkbox', id: id, role: 'switch', 'aria-describedby': id + '-desc' });
      input.checked = Boolean(s[setting.key]);
      input.addEventListener('change', function () {
        var patch = {};
        patch[setting.key] = input.checked;
        input.disabled = true;
        api('PATCH', '/settings', patch).then(function (updated) {
          applySettings(updated);
          toast(setting.name + ': ' + (updated[setting.key] ? 'on' : 'off'));
        }).catch(function (error) {
          input.checked = !input.checked;
          input.disabled = false;
          fail(error);
        });
      });
      var inactive = setting.dependent && !s.enabled;
      list.appendChild(h('div', { className: 'setting' + (setting.dependent ? ' dependent' : '') }, [
        h('div', { className: 'text' }, [
          h('label', { className: 'name', for: id, text: setting.name }),
          h('span', { className: 'desc', id: id + '-desc', text: setting.desc })
        ]),
        h('span', { className: 'state', text: inactive ? 'inactive' : '' }),
        h('label', { className: 'switch' }, [input, h('span', { className: 'track' })])
      ]));
    });
  }

  // ---- task lists ----------------------------------------------------------------------------

  function panelOf(direction) { return document.getElementById('panel-' + direction); }

  function setupTaskPanel(direction) {
    var panel = panelOf(direction);
    panel.appendChild(document.importNode($('#task-panel').content, true));
    var list = state.lists[direction];
    $('.connector-filter', panel).addEventListener('change', function (event) {
      list.connector = event.target.value;
      loadTasks(direction, false).catch(fail);
    });
    $('.status-filter', panel).addEventListener('change', function (event) {
      list.status = event.target.value;
      loadTasks(direction, false).catch(fail);
    });
    $('.refresh', panel).addEventListener('click', function () { loadTasks(direction, false).catch(fail); });
    $('.load-more', panel).addEventListener('click', function () { loadTasks(direction, true).catch(fail); });
    $('.select-page', panel).addEventListener('change', function (event) {
      list.items.forEach(function (item) {
        if (event.target.checked) list.selected.set(keyOf(item), item);
        else list.selected.delete(keyOf(item));
      });
      renderTasks(direction);
    });
    $('.bulk-ok', panel).addEventListener('click', function () { runBulk(direction).catch(fail); });
  }

  function keyOf(item) { return item.taskId + ':' + item.connectorName; }

  function loadTasks(direction, append) {
    var list = state.lists[direction];
    if (!append) {
      list.cursor = null;
      list.selected.clear();
    }
    var params = { direction: direction, connectorName: list.connector, status: list.status, limit: PAGE_SIZE,
      cursor: append ? list.cursor : undefined };
    list.loading = true;
    return api('GET', '/tasks' + query(params)).then(function (page) {
      list.items = append ? list.items.concat(page.items) : page.items;
      list.cursor = page.nextCursor;
      list.loading = false;
      renderTasks(direction);
    }, function (error) {
      list.loading = false;
      throw error;
    });
  }

  function renderTasks(direction) {
    var panel = panelOf(direction);
    var list = state.lists[direction];
    var body = $('tbody', panel);
    if (!body) return;
    clear(body);
    var canSync = processingOn(direction);
    list.items.forEach(function (item) {
      var key = keyOf(item);
      var box = h('input', { type: 'checkbox', 'aria-label': 'Select ' + item.title + ' for ' + item.connectorName });
      box.checked = list.selected.has(key);
      box.addEventListener('change', function () {
        if (box.checked) list.selected.set(key, item); else list.selected.delete(key);
        row.classList.toggle('selected', box.checked);
        updateSelection(direction);
      });
      var result = statusNode(item, function () { openLog(item).catch(fail); });
      var canRequeue = direction === 'outgoing' && item.status !== 'waiting';
      var row = h('tr', { className: box.checked ? 'selected' : '', 'data-task-id': item.taskId, 'data-connector': item.connectorName }, [
        h('td', { className: 'check' }, [box]),
        h('td', {}, [h('button', { type: 'button', className: 'link task-title', text: item.title,
          onclick: function () { openTask(item.taskId).catch(fail); } }),
          h('span', { className: 'sub', text: item.objectType + (item.siteName ? ' · ' + item.siteName : '') })]),
        h('td', {}, [h('span', { className: 'badge', text: item.taskType })]),
        h('td', { className: 'nowrap', text: formatTime(item.createdAt) }),
        h('td', { title: item.connectorName, text: item.connectorDisplayName }),
        h('td', { className: 'result' }, [result, statusDetails(item)]),
        h('td', { className: 'actions' }, [
          iconButton('view', 'View task ' + item.taskId, function () { openTask(item.taskId).catch(fail); }),
          canRequeue ? iconButton('requeue', 'Requeue task ' + item.taskId, function () { requeueOne(direction, item).catch(fail); }) : null,
          iconButton('sync', 'Synchronize task ' + item.taskId, function () { synchronizeOne(direction, item).catch(fail); },
            !canSync, 'Processing of ' + direction + ' tasks is switched off'),
          iconButton('delete', 'Delete task ' + item.taskId, function () { deleteOne(direction, item).catch(fail); })
        ])
      ]);
      body.appendChild(row);
    });
    $('.empty', panel).hidden = list.items.length > 0;
    $('.load-more', panel).hidden = !list.cursor;
    $('.shown-count', panel).textContent = list.items.length
      ? list.items.length + (list.cursor ? '+ tasks' : list.items.length === 1 ? ' task' : ' tasks') : '';
    var syncOption = $('.bulk-action option[value=synchronize]', panel);
    syncOption.disabled = !canSync;
    if (!canSync && $('.bulk-action', panel).value === 'synchronize') $('.bulk-action', panel).value = '';
    updateSelection(direction);
  }

  function updateSelection(direction) {
    var panel = panelOf(direction);
    var list = state.lists[direction];
    var count = list.selected.size;
    $('.selection-count', panel).textContent = count ? count + ' selected' : '';
    var all = $('.select-page', panel);
    all.checked = list.items.length > 0 && count >= list.items.length &&
      list.items.every(function (item) { return list.selected.has(keyOf(item)); });
  }

  function synchronizeOne(direction, item) {
    return api('POST', '/tasks/' + item.taskId + '/synchronize', { connectorName: item.connectorName }).then(function (answer) {
      toast('Synchronized "' + item.title + '": ' + describeResults(answer.results));
      return loadTasks(direction, false);
    });
  }

  function requeueOne(direction, item) {
    return api('POST', '/tasks/' + item.taskId + '/requeue', { connectorName: item.connectorName }).then(function (answer) {
      toast(answer.requeued ? 'Requeued "' + item.title + '".' : '"' + item.title + '" was already waiting.');
      return loadTasks(direction, false);
    });
  }

  function deleteOne(direction, item) {
    return confirmAction('Delete task?', '"' + item.title + '" will not be processed by ' + item.connectorDisplayName + '.')
      .then(function (yes) {
        if (!yes) return;
        return api('DELETE', '/tasks/' + item.taskId + query({ connectorName: item.connectorName })).then(function () {
          toast('Deleted "' + item.title + '".');
          return loadTasks(direction, false);
        });
      });
  }

  function runBulk(direction) {
    var panel = panelOf(direction);
    var list = state.lists[direction];
    var scope = $('.bulk-scope', panel).value;
    var action = $('.bulk-action', panel).value;
    if (!action) { toast('Choose an action first.', true); return Promise.resolve(); }
    var requests = [];
    if (scope === 'all') {
      var everything = { direction: direction, connectorName: list.connector || undefined, all: true };
      if (action === 'requeue' && list.status) everything.status = list.status;
      requests.push(everything);
    } else {
      var byConnector = new Map();
      list.selected.forEach(function (item) {
        if (!byConnector.has(item.connectorName)) byConnector.set(item.connectorName, []);
        byConnector.get(item.connectorName).push(item.taskId);
      });
      byConnector.forEach(function (ids, connectorName) {
        requests.push({ direction: direction, connectorName: connectorName, ids: ids });
      });
      if (!requests.length) { toast('Select tasks first, or choose "All tasks".', true); return Promise.resolve(); }
    }
    var what = scope === 'all'
      ? 'all ' + direction + ' tasks' + (list.connector ? ' of ' + list.connector : '')
      : list.selected.size + ' selected task' + (list.selected.size === 1 ? '' : 's');
    var ask = action === 'delete'
      ? confirmAction('Delete ' + what + '?', 'They will be removed from the queue without being processed.')
      : Promise.resolve(true);
    return ask.then(function (yes) {
      if (!yes) return;
      var total = action === 'delete' ? { deleted: 0 } : action === 'requeue' ? { requeued: 0 } : { results: {}, skipped: 0, notQueued: 0 };
      return requests.reduce(function (previous, body) {
        return previous.then(function () {
          return api('POST', '/tasks/' + action, body).then(function (answer) {
            if (action === 'delete') { total.deleted += answer.deleted; return; }
            if (action === 'requeue') { total.requeued += answer.requeued; return; }
            Object.keys(answer.results).forEach(function (k) { total.results[k] = (total.results[k] || 0) + answer.results[k]; });
            total.skipped += answer.skipped;
            total.notQueued += answer.notQueued;
          });
        });
      }, Promise.resolve()).then(function () {
        if (action === 'delete') toast('Deleted ' + total.deleted + ' task' + (total.deleted === 1 ? '' : 's') + '.');
        else if (action === 'requeue') toast('Requeued ' + total.requeued + ' task' + (total.requeued === 1 ? '' : 's') + '.');
        else toast('Synchronized ' + what + ': ' + describeResults(total.results) +
          (total.skipped ? ', ' + total.skipped + ' left for after an error' : ''));
        return loadTasks(direction, false);
      });
    });
  }

  // ---- task detail and sync log --------------------------------------------------------------

  function table(headers, rows) {
    return h('table', { className: 'grid' }, [
      h('thead', {}, [h('tr', {}, headers.map(function (title) { return h('th', { text: title }); }))]),
      h('tbody', {}, rows.map(function (cells) {
        return h('tr', {}, cells.map(function (cell) { return h('td', {}, [cell instanceof Node ? cell : valueNode(cell)]); }));
      }))
    ]);
  }

  function fieldsTable(data) {
    var keys = Object.keys(data || {});
    if (!keys.length) return h('p', { className: 'muted', text: 'No fields.' });
    return table(['Field name', 'Value'], keys.map(function (k) { return [h('strong', { text: k }), data[k]]; }));
  }

  function relatedTable(records) {
    if (!records || !records.length) return h('p', { className: 'muted', text: 'No related data.' });
    return table(['Field', 'Object type', 'ID', 'Code name', 'Site', 'Parent type', 'Parent ID', 'Group ID', 'Node GUID', 'Culture'],
      records.map(function (r) {
        return [r.property, r.objectType, r.id, r.codeName, r.siteName, r.parentType, r.parentId, r.groupId, r.nodeGuid, r.culture];
      }));
  }

  function logTable(entries) {
    if (!entries.length) return h('p', { className: 'muted', text: 'No failed attempts.' });
    return table(['Time', 'Error message'], entries.map(function (e) {
      return [h('span', { className: 'nowrap', text: formatTime(e.time) }), h('span', { className: 'value', text: e.errorMessage })];
    }));
  }

  function openTask(taskId) {
    return api('GET', '/tasks/' + taskId).then(function (task) {
      $('#task-dialog-title').textContent = 'Task detail (' + task.title + ')';
      var facts = [['Task direction', task.direction === 'incoming' ? 'Inbound' : 'Outbound'], ['Task type', task.taskType],
        ['Task time', formatTime(task.createdAt)], ['Object type', task.objectType], ['Object ID', task.objectId],
        ['Site', task.siteName || '(global)'], ['Data type', task.dataType], ['Process type', task.processType], ['Task ID', task.id]];
      if (task.aliasPath) facts.push(['Alias path', task.aliasPath]);
      var body = clear($('#task-dialog-body'));
      body.appendChild(h('dl', { className: 'facts' }, facts.map(function (f) {
        return h('div', {}, [h('dt', { text: f[0] }), h('dd', { text: f[1] === null || f[1] === undefined ? '' : String(f[1]) })]);
      })));
      body.appendChild(h('h3', { text: task.entity || task.objectType }));
      body.appendChild(fieldsTable(task.data));
      body.appendChild(h('h3', { text: 'Related data' }));
      body.appendChild(relatedTable(task.relatedData));
      Object.keys(task.children || {}).forEach(function (name) {
        task.children[name].forEach(function (child, index) {
          body.appendChild(h('h3', { text: name + ' #' + (index + 1) }));
          body.appendChild(fieldsTable(child.data));
          if (child.relatedData.length) body.appendChild(relatedTable(child.relatedData));
        });
      });
      body.appendChild(h('h3', { text: 'Synchronizations' }));
      if (!task.synchronizations.length) body.appendChild(h('p', { className: 'muted', text: 'No connector waits for this task.' }));
      task.synchronizations.forEach(function (s) {
        body.appendChild(table(['Connector', 'Attempts', 'Last run', 'Status', 'Next attempt'], [[
          h('span', { title: s.connectorName, text: s.connectorDisplayName }), s.attempts,
          h('span', { text: s.lastRun ? formatTime(s.lastRun) : 'never' }),
          h('span', {}, [statusNode(s, null), s.errorMessage && s.status !== 'waiting' ? h('span', { className: 'sub', text: s.errorMessage }) : null]),
          h('span', { className: 'nowrap', text: s.nextAttemptAt ? formatTime(s.nextAttemptAt) : '' })
        ]]));
        if (s.log.length) body.appendChild(logTable(s.log));
      });
      $('#task-dialog').showModal();
    });
  }

  function openLog(item) {
    return api('GET', '/tasks/' + item.taskId).then(function (task) {
      var sync = task.synchronizations.filter(function (s) { return s.connectorName === item.connectorName; })[0];
      $('#log-dialog-title').textContent = 'Synchronization log: ' + task.title;
      var body = clear($('#log-dialog-body'));
      if (!sync) {
        body.appendChild(h('p', { className: 'muted', text: 'This task is no longer queued for ' + item.connectorDisplayName + '.' }));
      } else {
        body.appendChild(h('dl', { className: 'facts' }, [
          h('div', {}, [h('dt', { text: 'Connector' }), h('dd', { text: sync.connectorDisplayName })]),
          h('div', {}, [h('dt', { text: 'Status' }), h('dd', { text: (STATUS_LABELS[sync.status] || sync.status) +
            (sync.blockedBy ? ' behind task ' + sync.blockedBy : '') })]),
          h('div', {}, [h('dt', { text: 'Attempts' }), h('dd', { text: String(sync.attempts) })]),
          h('div', {}, [h('dt', { text: 'Next attempt' }), h('dd', { text: sync.nextAttemptAt ? formatTime(sync.nextAttemptAt) : '—' })]),
          h('div', {}, [h('dt', { text: 'Last run' }), h('dd', { text: sync.lastRun ? formatTime(sync.lastRun) : 'never' })])
        ]));
        body.appendChild(h('h3', { text: 'Attempts with a message, newest first' }));
        body.appendChild(logTable(sync.log));
      }
      $('#log-dialog').showModal();
    });
  }

  // ---- connectors ----------------------------------------------------------------------------

  function loadConnectors() {
    return api('GET', '/connectors').then(function (connectors) {
      state.connectors = connectors;
      renderConnectors();
      ['outgoing', 'incoming'].forEach(function (direction) {
        var select = $('.connector-filter', panelOf(direction));
        var current = state.lists[direction].connector;
        clear(select).appendChild(h('option', { value: '', text: '(all)' }));
        connectors.forEach(function (c) {
          select.appendChild(h('option', { value: c.codeName, text: c.displayName + (c.loaded ? '' : ' (not loaded)') }));
        });
        select.value = current;
      });
    });
  }

  function renderConnectors() {
    var body = clear($('#connectors-table tbody'));
    state.connectors.forEach(function (c) {
      var toggle = h('input', { type: 'checkbox', role: 'switch', 'aria-label': 'Enable ' + c.codeName });
      toggle.checked = c.enabled;
      toggle.addEventListener('change', function () {
        toggle.disabled = true;
        api('PATCH', '/connectors/' + encodeURIComponent(c.codeName), { enabled: toggle.checked }).then(function () {
          toast(c.displayName + (toggle.checked ? ' enabled.' : ' disabled.'));
          return loadConnectors();
        }).catch(function (error) {
          toggle.checked = !toggle.checked;
          toggle.disabled = false;
          fail(error);
        });
      });
      var status = c.loaded
        ? h('span', { className: 'ok-text', text: 'Loaded' })
        : h('span', { className: 'warn-mark', title: c.notLoadedReason || 'Not loaded', text: '\u26A0 Not loaded' });
      body.appendChild(h('tr', { 'data-connector': c.codeName }, [
        h('td', {}, [h('strong', { text: c.displayName })]),
        h('td', {}, [h('code', { text: c.codeName })]),
        h('td', { text: c.className || '' }),
        h('td', {}, [h('label', { className: 'switch' }, [toggle, h('span', { className: 'track' })])]),
        h('td', {}, [status]),
        h('td', { className: 'actions' }, [
          iconButton('edit', 'Edit ' + c.codeName, function () { editConnector(c); }),
          iconButton('delete', 'Delete ' + c.codeName, function () { deleteConnector(c).catch(fail); }, c.loaded,
            'A loaded connector cannot be deleted: disable it instead')
        ])
      ]));
    });
    $('#panel-connectors .empty').hidden = state.connectors.length > 0;
  }

  function editConnector(connector) {
    state.editing = connector;
    var form = $('#connector-form');
    form.reset();
    $('#connector-dialog-title').textContent = connector ? 'Edit connector' : 'New connector';
    form.elements.displayName.value = connector ? connector.displayName : '';
    form.elements.codeName.value = connector ? connector.codeName : '';
    form.elements.codeName.disabled = Boolean(connector);
    form.elements.className.value = connector ? connector.className : '';
    form.elements.className.disabled = Boolean(connector);
    form.elements.enabled.checked = connector ? connector.enabled : true;
    $('#connector-error').hidden = true;
    $('#connector-dialog').showModal();
  }

  function saveConnector(event) {
    event.preventDefault();
    var form = event.target;
    var editing = state.editing;
    var displayName = form.elements.displayName.value.trim();
    var request = editing
      ? api('PATCH', '/connectors/' + encodeURIComponent(editing.codeName),
        { displayName: displayName || editing.displayName, enabled: form.elements.enabled.checked })
      : api('POST', '/connectors', {
        codeName: form.elements.codeName.value.trim(),
        displayName: displayName || undefined,
        className: form.elements.className.value.trim() || undefined,
        enabled: form.elements.enabled.checked
      });
    request.then(function (saved) {
      $('#connector-dialog').close();
      toast((editing ? 'Saved ' : 'Created ') + saved.displayName + '.');
      return loadConnectors();
    }).catch(function (error) {
      var box = $('#connector-error');
      box.hidden = false;
      box.textContent = error.message;
    });
  }

  function deleteConnector(connector) {
    return confirmAction('Delete connector ' + connector.displayName + '?',
      'Its row, its queued synchronizations and the tasks no other connector waits for are removed.').then(function (yes) {
      if (!yes) return;
      return api('DELETE', '/connectors/' + encodeURIComponent(connector.codeName)).then(function (answer) {
        toast('Deleted ' + connector.displayName + ' (' + answer.synchronizationsDeleted + ' queued synchronizations).');
        return loadConnectors();
      });
    });
  }

  // ---- event log -----------------------------------------------------------------------------

  function loadEvents(append) {
    var events = state.events;
    return api('GET', '/event-log' + query({ limit: PAGE_SIZE, cursor: append ? events.cursor : undefined })).then(function (page) {
      events.items = append ? events.items.concat(page.items) : page.items;
      events.cursor = page.nextCursor;
      var body = clear($('#events-table tbody'));
      events.items.forEach(function (e) {
        body.appendChild(h('tr', {}, [
          h('td', { className: 'nowrap', text: formatTime(e.time) }),
          h('td', {}, [h('span', { className: 'badge level ' + e.level, text: e.level })]),
          h('td', { text: e.source }),
          h('td', {}, [h('code', { text: e.eventCode })]),
          h('td', { text: e.connectorName || '' }),
          h('td', { text: e.taskId === null ? '' : String(e.taskId) }),
          h('td', { className: 'message', text: e.message })
        ]));
      });
      $('#panel-events .empty').hidden = events.items.length > 0;
      $('#events-more').hidden = !events.cursor;
    });
  }

  // ---- start ---------------------------------------------------------------------------------

  function start() {
    setupTaskPanel('outgoing');
    setupTaskPanel('incoming');
    document.querySelectorAll('[role=tab]').forEach(function (tab) {
      tab.addEventListener('click', function () { selectTab(tab.getAttribute('data-tab')); });
      tab.addEventListener('keydown', function (event) {
        if (event.key !== 'ArrowRight' && event.key !== 'ArrowLeft') return;
        var tabs = Array.prototype.slice.call(document.querySelectorAll('[role=tab]'));
        var next = tabs[(tabs.indexOf(tab) + (event.key === 'ArrowRight' ? 1 : tabs.length - 1)) % tabs.length];
        next.focus();
        selectTab(next.getAttribute('data-tab'));
      });
    });
    document.querySelectorAll('dialog .close').forEach(function (button) {
      button.addEventListener('click', function () { button.closest('dialog').close(); });
    });
    $('#login-dialog').addEventListener('cancel', function (event) { event.preventDefault(); });
    $('#login-form').addEventListener('submit', function (event) {
      event.preventDefault();
      signIn($('#login-token').value.trim());
    });
    $('#sign-out').addEventListener('click', function () {
      sessionStorage.removeItem(TOKEN_KEY);
      state.token = null;
      $('#login-token').value = '';
      showLogin(null);
    });
    $('#new-connector').addEventListener('click', function () { editConnector(null); });
    $('#connector-form').addEventListener('submit', saveConnector);
    $('#events-refresh').addEventListener('click', function () { loadEvents(false).catch(fail); });
    $('#events-more').addEventListener('click', function () { loadEvents(true).catch(fail); });
    window.addEventListener('hashchange', function () {
      var tab = tabFromHash();
      if (tab && tab !== state.tab && !$('#main').hidden) selectTab(tab);
    });
    signIn(state.token);
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
`;
