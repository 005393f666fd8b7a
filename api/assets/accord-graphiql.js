// Starts GraphiQL on Accord's page (api/src/graphiql.rs). A file of its own, not an
// inline script, so the page's Content-Security-Policy can forbid inline scripts.
(function () {
  'use strict';

  var PLACEHOLDER = 'Bearer <paste the token accord printed>';
  // Lines short enough for the query editor at its default width.
  var DEFAULT_QUERY = [
    "# Accord's GraphQL API. Most fields need a token:",
    '#',
    '# 1. Copy the token `accord` printed at start-up,',
    '#    or mint one: accord token --email <you>',
    '# 2. In Headers below, paste it in place of',
    '#    <paste the token accord printed>.',
    '# 3. Run with Ctrl-Enter (Cmd-Enter on a Mac).',
    '#',
    '# Docs (the book, top left) describes every field.',
    '',
    'query Me {',
    '  me {',
    '    name',
    '    team',
    '    role',
    '  }',
    '}',
    '',
  ].join('\n');

  var container = document.getElementById('graphiql');
  var fetcher = GraphiQL.createFetcher({ url: container.getAttribute('data-endpoint') });

  function fetchWithoutPlaceholder(params, options) {
    var headers = Object.assign({}, options && options.headers);
    // Sent as is, the placeholder would be refused (401) and GraphiQL would load no schema.
    if (/^Bearer\s*<.*>$/.test(headers.Authorization || '')) {
      delete headers.Authorization;
    }
    return fetcher(params, Object.assign({}, options, { headers: headers }));
  }

  // GraphiQL fills the window.
  document.body.style.margin = '0';
  container.style.height = '100vh';

  ReactDOM.createRoot(container).render(
    React.createElement(GraphiQL, {
      fetcher: fetchWithoutPlaceholder,
      defaultQuery: DEFAULT_QUERY,
      defaultHeaders: JSON.stringify({ Authorization: PLACEHOLDER }, null, 2),
      defaultEditorToolsVisibility: 'headers',
      isHeadersEditorEnabled: true,
    })
  );
})();
