import { ADMIN_TOKEN_STORAGE_KEY } from '../management.constants.js';

/**
 * The Swagger UI page of `GET /{path}/docs`. `assets` is the relative URL prefix of the files it
 * loads (`docs/` or empty, depending on a trailing slash in the page's URL).
 */
export function docsPageHtml(assets: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Integration bus API</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${assets}swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="${assets}swagger-ui-bundle.js"></script>
<script src="${assets}docs.js"></script>
</body>
</html>
`;
}

/**
 * Starts Swagger UI on the document at `openapi.json`, which needs the admin token: the token the
 * admin page keeps in `sessionStorage`, else one asked for (once) when the document answers 401.
 * Every "Try it out" request carries it too.
 */
export const DOCS_PAGE_SCRIPT = String.raw`(function () {
  'use strict';
  var KEY = '${ADMIN_TOKEN_STORAGE_KEY}';
  var base = location.pathname.replace(/\/+$/, '');
  function load(token) {
    var headers = token ? { Authorization: 'Bearer ' + token } : {};
    return fetch(base + '/openapi.json', { headers: headers }).then(function (res) {
      if (res.status === 401) {
        var entered = window.prompt('Admin token of the integration bus');
        if (!entered) throw new Error('The API document needs the admin token.');
        sessionStorage.setItem(KEY, entered);
        return load(entered);
      }
      if (!res.ok) return res.json().then(function (body) { throw new Error(body.message || res.statusText); });
      return res.json().then(function (spec) { return { spec: spec, token: token }; });
    });
  }
  load(sessionStorage.getItem(KEY)).then(function (loaded) {
    window.ui = SwaggerUIBundle({
      spec: loaded.spec,
      dom_id: '#swagger-ui',
      deepLinking: true,
      requestInterceptor: function (req) {
        var token = sessionStorage.getItem(KEY) || loaded.token;
        if (token && !req.headers.Authorization) req.headers.Authorization = 'Bearer ' + token;
        return req;
      }
    });
  }).catch(function (error) {
    document.getElementById('swagger-ui').textContent = String(error.message || error);
  });
})();
`;
