#!/usr/bin/env node
// The multipath panels in a real browser (Debian's chromium, headless, driven by puppeteer-core)
// against tests/api-server: our API handlers on a three-node demo cluster made from real
// multipathd captures. Every step clicks and types like a person; the results are read from
// the rendered page. Prints TAP; screenshots go to UI_OUT (build/ui).
//
//   UI_WWW=build/ui/www UI_OUT=build/ui node ui/tests/ui-test.js

const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const puppeteer = require('puppeteer-core');

const ROOT = path.resolve(__dirname, '../..');
const WWW = path.resolve(process.env.UI_WWW ?? `${ROOT}/build/ui/www`);
const OUT = path.resolve(process.env.UI_OUT ?? `${ROOT}/build/ui`);
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

const LUN_A = '35000c50015ea71ac'; // the real captures' WWID, alias san-a-lun0, base of vmdata
const LUN_B = '3600a098038314e6a4f5d4e6f4b2f3a41'; // 33 characters, paths-expected 2
const LUN_C = '36001405c0ffee0000000000000000042'; // allow-listed, assembled nowhere
const NEW_LUN = '3600a0980383150000000000000000abc';
const LUN_D = '3600a0980383150000000000000000d01'; // only in pve1's own multipath.conf
const OVERRIDES_TEXT =
    'devices {\n    device {\n        vendor "X"\n        no_such_keyword 1\n    }\n}\n';

let count = 0;
let failed = 0;
const ok = (cond, name, diag) => {
    count++;
    console.log(`${cond ? 'ok' : 'not ok'} ${count} - ${name}`);
    if (!cond) {
        failed++;
        if (diag !== undefined) {
            console.log(`#   ${JSON.stringify(diag)}`);
        }
    }
};
const is = (got, want, name) => ok(got === want, name, { got, want });
const like = (got, re, name) => ok(re.test(got ?? ''), name, { got, want: String(re) });

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function startServer() {
    const server = spawn('perl', [`${ROOT}/ui/tests/api-server`, '--www', WWW], {
        stdio: ['ignore', 'pipe', 'inherit'],
    });
    return new Promise((resolve, reject) => {
        server.on('exit', (code) => reject(new Error(`api-server exited with ${code}`)));
        server.stdout.once('data', (line) => resolve({ server, ...JSON.parse(line.toString()) }));
    });
}

// GET from our API as root, for checks that compare the page with the data it shows
async function api(path) {
    let response = await fetch(`${globalThis.baseUrl}api2/json/${path}`, {
        headers: { Cookie: 'PVEAuthCookie=PVE%3Aroot%40pam%3Astandin' },
    });
    return (await response.json()).data;
}

// a write to our API as root, with the ticket and CSRF token a login gives
async function apiWrite(method, path, params) {
    let login = await fetch(`${globalThis.baseUrl}api2/json/access/ticket`, {
        method: 'POST',
        body: new URLSearchParams({ username: 'root@pam' }),
    });
    let ticket = (await login.json()).data;
    let response = await fetch(`${globalThis.baseUrl}api2/json/${path}`, {
        method,
        headers: {
            Cookie: `PVEAuthCookie=${encodeURIComponent(ticket.ticket)}`,
            CSRFPreventionToken: ticket.CSRFPreventionToken,
        },
        body: new URLSearchParams(params),
    });
    if (response.status !== 200) {
        throw new Error(`${method} ${path}: ${response.status} ${response.statusText}`);
    }
}

// --- reading the page ---

// The rendered cell of a LUN row in a column (a node name, or a data index).
async function cell(page, wwid, column) {
    return page.evaluate(
        (wwid, column) => {
            let grid = Ext.ComponentQuery.query('pveDcMultipath')[0];
            let rec = grid.getStore().getById(wwid);
            let col = grid
                .getColumns()
                .find((c) => c.nodeName === column || (!c.nodeName && c.dataIndex === column));
            if (!rec || !col) {
                return null;
            }
            let td = grid.getView().getCell(rec, col);
            if (!td) {
                return null;
            }
            let dom = td.dom ?? td;
            let inner = dom.querySelector('.x-grid-cell-inner');
            return {
                text: inner.innerText.replace(/\s+/g, ' ').trim(),
                icon: inner.querySelector('i')?.className ?? '',
                tip: dom.getAttribute('data-qtip') ?? '',
            };
        },
        wwid,
        column,
    );
}

async function header(page, node) {
    return page.evaluate((node) => {
        let grid = Ext.ComponentQuery.query('pveDcMultipath')[0];
        let col = grid.getColumns().find((c) => c.nodeName === node);
        if (!col) {
            return null;
        }
        return {
            text: col.el.dom.innerText.replace(/\s+/g, ' ').trim(),
            icon: col.el.dom.querySelector('i')?.className ?? '',
            id: col.id,
        };
    }, node);
}

async function rowWwids(page) {
    return page.evaluate(() =>
        Ext.ComponentQuery.query('pveDcMultipath')[0]
            .getStore()
            .getRange()
            .map((r) => r.getId()),
    );
}

async function waitFor(page, fn, what, ...args) {
    try {
        await page.waitForFunction(fn, { timeout: 8000, polling: 50 }, ...args);
        return true;
    } catch (_e) {
        ok(false, `timed out waiting for ${what}`);
        return false;
    }
}

// --- acting like a person ---

async function clickAt(page, box, options) {
    if (!box) {
        throw new Error('nothing to click');
    }
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2, options);
}

// the screen box of what fn returns in the page (a component, an Ext element or a node)
async function boxOf(page, fn, ...args) {
    const handle = await page.evaluateHandle(fn, ...args);
    const box = await handle.evaluate((el) => {
        let dom = el?.isComponent ? el.el?.dom : (el?.dom ?? el);
        if (!dom?.getBoundingClientRect) {
            return null;
        }
        let r = dom.getBoundingClientRect();
        return { x: r.x, y: r.y, width: r.width, height: r.height };
    });
    await handle.dispose();
    return box;
}

// poll fn in the page until its result matches want (a RegExp or a value)
async function waitForValue(page, fn, want, what, ...args) {
    let deadline = Date.now() + 8000;
    let got;
    while (Date.now() < deadline) {
        got = await page.evaluate(fn, ...args);
        if (want instanceof RegExp ? want.test(got ?? '') : got === want) {
            return got;
        }
        await sleep(50);
    }
    ok(false, `timed out waiting for ${what}`, { got });
    return got;
}

async function clickButton(page, scope, text) {
    let query = `${scope} button[text=${text}]`;
    await waitFor(
        page,
        (q) => {
            let b = Ext.ComponentQuery.query(q).find((c) => c.isVisible());
            return b && !b.isDisabled();
        },
        `button ${text} enabled`,
        query,
    );
    await clickAt(
        page,
        await boxOf(page, (q) => Ext.ComponentQuery.query(q).find((c) => c.isVisible()), query),
    );
}

async function clickRow(page, wwid, options) {
    await clickAt(
        page,
        await boxOf(
            page,
            (wwid) => {
                let grid = Ext.ComponentQuery.query('pveDcMultipath')[0];
                let rec = grid.getStore().getById(wwid);
                return grid.getView().getCell(rec, grid.getColumns()[0]);
            },
            wwid,
        ),
        options,
    );
}

async function typeInto(page, windowQuery, name, text, replace) {
    let box = await boxOf(
        page,
        (q, name) => Ext.ComponentQuery.query(`${q} field[name=${name}]`)[0].inputEl,
        windowQuery,
        name,
    );
    const value = (q, name) =>
        Ext.ComponentQuery.query(`${q} field[name=${name}]`)[0].inputEl.dom.value;
    await clickAt(page, box, replace ? { clickCount: 3 } : undefined);
    // under load a key can land before the selection does: clear until the field is empty
    for (let attempt = 0; replace && attempt < 3; attempt++) {
        await page.keyboard.down('Control');
        await page.keyboard.press('KeyA');
        await page.keyboard.up('Control');
        await page.keyboard.press('Backspace');
        if ((await page.evaluate(value, windowQuery, name)) === '') {
            break;
        }
        await clickAt(page, box);
    }
    await page.keyboard.type(text);
}

const windowShown = (q) => !!Ext.ComponentQuery.query(q).find((w) => w.isVisible());

async function openPage(browser, query, errors) {
    const page = await browser.newPage();
    page.on('console', (msg) => {
        if (msg.type() === 'error') {
            errors.push(`${query}: ${msg.text()}`);
        }
    });
    page.on('pageerror', (err) => errors.push(`${query}: ${err.message}`));
    page.on('dialog', (dialog) => {
        errors.push(`${query}: dialog ${dialog.message()}`);
        dialog.dismiss();
    });
    await page.goto(`${globalThis.baseUrl}${query}`);
    return page;
}

// --- the checks ---

async function matrix(browser, cluster, errors) {
    const page = await openPage(browser, '?view=dc', errors);
    await waitFor(
        page,
        () => Ext.ComponentQuery.query('pveDcMultipath')[0]?.getStore().getCount() === 3,
        'the matrix',
    );
    await page.screenshot({ path: `${OUT}/matrix.png` });
    // the panel alone, down to its last row (docs/matrix.png is a copy)
    let clip = await page.evaluate(() => {
        let grid = Ext.ComponentQuery.query('pveDcMultipath')[0];
        let r = grid.el.dom.getBoundingClientRect();
        let rows = grid.getView().getNodes();
        let bottom = rows[rows.length - 1].getBoundingClientRect().bottom;
        return { x: r.x, y: r.y, width: r.width, height: bottom - r.y + 8 };
    });
    await page.screenshot({ path: `${OUT}/matrix-panel.png`, clip });

    let c = await cell(page, LUN_A, 'pve1');
    is(c?.text, 'optimal 2/2', 'optimal: all paths up on pve1');
    like(c?.icon, /fa-check-circle/, 'optimal has the check icon');

    c = await cell(page, LUN_B, 'pve2');
    is(c?.text, 'degraded 1/2 (expects 2)', 'degraded: one of two paths failed on pve2');
    like(c?.icon, /fa-exclamation-circle/, 'degraded has the warning icon');
    let reason = (await api('cluster/multipath/status')).luns.find((l) => l.wwid === LUN_B).nodes
        .pve2.reason;
    ok(!!reason && c?.tip.includes(reason), 'the reason is the tooltip', { tip: c?.tip, reason });

    c = await cell(page, LUN_B, 'pve1');
    is(c?.text, 'redundancy lost 1/1 (expects 2)', 'removed path: lost redundancy on pve1');
    like(c?.icon, /fa-chain-broken/, 'lost redundancy reads differently from degraded');

    c = await cell(page, LUN_A, 'pve3');
    is(c?.text, 'stale', 'stale: pve3 reported an hour ago');
    like(c?.icon, /fa-clock-o/, 'stale has the clock icon');

    c = await cell(page, LUN_C, 'pve1');
    is(c?.text, 'missing', 'a LUN assembled nowhere is missing');

    c = await cell(page, LUN_A, 'size');
    is(c?.text, '100.00 GiB iscsi', 'size and transport from the node reports');
    c = await cell(page, LUN_A, 'wwid');
    is(c?.text, `san-a-lun0 vmdata ${LUN_A}`, 'the LUN cell has alias, storage and WWID');
    c = await cell(page, LUN_A, 'cluster-state');
    is(c?.text, 'degraded', 'cluster state rolls up the worst node');

    let h = await header(page, 'pve2');
    like(h?.icon, /fa-exclamation-triangle/, 'apply error: pve2 header is marked');
    h = await header(page, 'pve3');
    like(h?.icon, /fa-clock-o/, 'stale: pve3 header is marked');

    // hover the header: the peer's apply error, markup and all, shows as text
    await page.mouse.move(0, 0);
    await page.hover(`#${(await header(page, 'pve2')).id} .x-column-header-text`);
    await waitFor(
        page,
        () => [...document.querySelectorAll('.x-tip')].some((t) => t.offsetParent !== null),
        'the header tooltip',
    );
    let tip = await page.evaluate(() =>
        [...document.querySelectorAll('.x-tip')]
            .filter((t) => t.offsetParent !== null)
            .map((t) => t.innerText)
            .join('\n'),
    );
    like(
        tip,
        /Apply error: multipath -a \S+ failed: <img src=x onerror="window.__injected=1"> exit 1/,
        'markup in a peer value shows as text',
    );
    // the node's multipath-tools version, where the API's node rows carry it
    let version = (await api('cluster/multipath/status')).nodes.pve2['multipath-tools'];
    if (version === undefined) {
        count++;
        console.log(`ok ${count} # skip the node rows carry no multipath-tools version`);
    } else {
        ok(tip.includes(`multipath-tools: ${version}`), 'the header names multipath-tools', {
            tip,
            version,
        });
    }
    // the node's coexistence conflicts: counted in the header, each in its tooltip
    let conflicts = (await api('cluster/multipath/status')).nodes.pve2.conflicts ?? [];
    is(conflicts.length, 2, "pve2's own files contradict the cluster config twice");
    h = await header(page, 'pve2');
    is(h?.text, `pve2 ${conflicts.length}`, 'the header counts the conflicts');
    like(
        tip,
        /Conflicts with the node's own multipath files \(2\):/,
        'the tooltip introduces the conflicts',
    );
    ok(
        conflicts.every((conflict) => tip.includes(conflict)),
        'and lists each as the API reports it',
        { tip, conflicts },
    );
    h = await header(page, 'pve3');
    is(h?.text, 'pve3', 'a node that reports no conflicts has no count');
    is(await page.evaluate(() => window.__injected), undefined, 'the markup did not run');
    is(
        await page.evaluate(() => document.querySelectorAll('img[src="x"]').length),
        0,
        'no element was made from it',
    );

    // at 1280 px, inside the Datacenter layout, the long WWID and the degraded cell fit
    let fit = await page.evaluate((wwid) => {
        let grid = Ext.ComponentQuery.query('pveDcMultipath')[0];
        let body = grid.getView().el.dom.getBoundingClientRect();
        let rec = grid.getStore().getById(wwid);
        let inside = (el) => {
            let r = el.getBoundingClientRect();
            return r.left >= body.left && r.right <= body.right + 0.5 && r.width > 0;
        };
        let cellOf = (col) =>
            grid.getView().getCell(rec, col).dom ?? grid.getView().getCell(rec, col);
        let span = cellOf(grid.getColumns()[0]).querySelector('span');
        let degraded = cellOf(grid.getColumns().find((c) => c.nodeName === 'pve2')).querySelector(
            '.x-grid-cell-inner',
        );
        return {
            width: window.innerWidth,
            wwid: span.innerText,
            wwidFits: inside(span) && span.scrollWidth <= span.parentElement.clientWidth,
            degradedFits: inside(degraded) && degraded.scrollWidth <= degraded.clientWidth,
            noScroll: grid.getView().el.dom.scrollWidth <= grid.getView().el.dom.clientWidth,
        };
    }, LUN_B);
    is(fit.width, 1280, 'the window is 1280 px wide');
    is(fit.wwid.length, 33, 'the WWID is 33 characters');
    ok(fit.wwidFits, 'the 33-character WWID is fully visible', fit);
    ok(fit.degradedFits, '"degraded 1/2 (expects 2)" is fully visible', fit);
    ok(fit.noScroll, 'the matrix needs no horizontal scrolling', fit);

    // pve3 goes offline: its cells turn unknown with the next poll
    const members = `${cluster}/members.json`;
    const before = fs.readFileSync(members, 'utf8');
    fs.writeFileSync(
        members,
        JSON.stringify({ pve1: { online: 1 }, pve2: { online: 1 }, pve3: { online: 0 } }),
    );
    await waitFor(
        page,
        (wwid) => {
            let grid = Ext.ComponentQuery.query('pveDcMultipath')[0];
            let cell = grid.getStore().getById(wwid)?.data.nodes?.pve3;
            return cell?.reason === 'node offline' || /offline/.test(cell?.reason ?? '');
        },
        'pve3 offline',
        LUN_A,
    );
    await sleep(100);
    c = await cell(page, LUN_A, 'pve3');
    is(c?.text, 'unknown', 'unknown: pve3 is offline');
    like(c?.icon, /fa-question-circle/, 'unknown reads differently from stale');
    like(
        (await header(page, 'pve3'))?.icon,
        /fa-circle critical/,
        'the offline node header is red',
    );
    await page.screenshot({ path: `${OUT}/matrix-offline.png` });
    fs.writeFileSync(members, before);
    return page;
}

// the server keeps pve-http-server's rules, so the panels' requests are checked by them
async function serverRules() {
    let login = await fetch(`${globalThis.baseUrl}api2/json/access/ticket`, {
        method: 'POST',
        body: new URLSearchParams({ username: 'root@pam' }),
    });
    let ticket = (await login.json()).data;
    let url = `${globalThis.baseUrl}api2/extjs/cluster/multipath/wwid/${LUN_A}`;
    let cookie = `PVEAuthCookie=${encodeURIComponent(ticket.ticket)}`;
    let withBody = await fetch(url, {
        method: 'DELETE',
        headers: { Cookie: cookie, CSRFPreventionToken: ticket.CSRFPreventionToken },
        body: 'force=1',
    });
    is(withBody.status, 501, 'the server refuses a DELETE with a body');
    let noToken = await fetch(url, { method: 'PUT', headers: { Cookie: cookie }, body: 'alias=x' });
    is(noToken.status, 401, 'and a write without the CSRF token');
}

async function edits(page) {
    await serverRules();
    // polling off: only the panel's own reload after a change may update the grid
    await page.evaluate(() => Ext.ComponentQuery.query('pveDcMultipath')[0].rstore.stopUpdate());
    const win = 'pveDcMultipathWwidEdit';

    await clickButton(page, 'pveDcMultipath toolbar', 'Add');
    await waitFor(page, windowShown, 'the add window', win);
    await waitFor(
        page,
        (q) => !!Ext.ComponentQuery.query(`${q} field[name=paths-expected]`)[0],
        'knob fields',
        win,
    );
    await typeInto(page, win, 'wwid', NEW_LUN);
    await typeInto(page, win, 'alias', 'added-lun');
    await typeInto(page, win, 'paths-expected', '2');
    await page.screenshot({ path: `${OUT}/add-wwid.png` });
    await clickButton(page, win, 'Add');
    await waitFor(
        page,
        (w) => !!Ext.ComponentQuery.query('pveDcMultipath')[0].getStore().getById(w),
        'the new row',
        NEW_LUN,
    );
    let c = await cell(page, NEW_LUN, 'wwid');
    is(c?.text, `added-lun ${NEW_LUN}`, 'an added WWID is in the grid at once');
    ok(!(await page.evaluate(windowShown, win)), 'the add window closed');

    await clickRow(page, NEW_LUN);
    await clickButton(page, 'pveDcMultipath toolbar', 'Edit');
    await waitFor(
        page,
        (q) => Ext.ComponentQuery.query(`${q} field[name=alias]`)[0]?.getValue() === 'added-lun',
        'the edit window with the alias loaded',
        win,
    );
    is(
        await page.evaluate(
            (q) => Ext.ComponentQuery.query(`${q} field[name=paths-expected]`)[0].getValue(),
            win,
        ),
        2,
        'the edit window loads the knobs',
    );
    await typeInto(page, win, 'alias', 'renamed-lun', true);
    await clickButton(page, win, 'OK');
    await waitFor(
        page,
        (w) =>
            Ext.ComponentQuery.query('pveDcMultipath')[0].getStore().getById(w)?.data.alias ===
            'renamed-lun',
        'the renamed row',
        NEW_LUN,
    );
    c = await cell(page, NEW_LUN, 'wwid');
    is(c?.text, `renamed-lun ${NEW_LUN}`, 'an edited WWID changes the grid at once');

    // a LUN nobody uses: removed at once; its row goes, as no node reports a map for it
    await clickRow(page, NEW_LUN);
    await clickButton(page, 'pveDcMultipath toolbar', 'Remove');
    await waitFor(page, () => Ext.Msg.isVisible(), 'the confirmation');
    let text = await page.evaluate(() => Ext.Msg.el.dom.innerText);
    ok(
        text.includes(NEW_LUN) && !/storage/.test(text),
        'the confirmation names the WWID only',
        text,
    );
    await clickButton(page, 'messagebox', 'Yes');
    await waitFor(
        page,
        (w) => !Ext.ComponentQuery.query('pveDcMultipath')[0].getStore().getById(w),
        'the row gone',
        NEW_LUN,
    );
    ok(!(await rowWwids(page)).includes(NEW_LUN), 'a removed WWID leaves the grid at once');

    // the base of vmdata: removal needs force (in the query string: a DELETE body gets 501);
    // nodes still report its map until they drop it, so the row stays, without its alias
    await clickRow(page, LUN_A);
    await clickButton(page, 'pveDcMultipath toolbar', 'Remove');
    await waitFor(page, () => Ext.Msg.isVisible(), 'the confirmation');
    text = await page.evaluate(() => Ext.Msg.el.dom.innerText);
    like(
        text,
        new RegExp(`${LUN_A}[\\s\\S]*storage vmdata`),
        'the confirmation names the storage using it',
    );
    await clickButton(page, 'messagebox', 'Yes');
    await waitFor(
        page,
        (w) => !Ext.ComponentQuery.query('pveDcMultipath')[0].getStore().getById(w)?.data.alias,
        'the alias gone',
        LUN_A,
    );
    let c2 = await cell(page, LUN_A, 'wwid');
    is(c2?.text, `vmdata ${LUN_A}`, 'a force-removed WWID changes the grid at once');
    ok(
        !(await page.evaluate(() => Ext.Msg.isVisible())),
        'no error: force went in the query string',
    );

    const ovr = 'pveDcMultipathOverridesEdit';
    await clickButton(page, 'pveDcMultipath toolbar', 'Overrides');
    await waitFor(page, windowShown, 'the overrides window', ovr);
    await waitFor(
        page,
        (q) => !!Ext.ComponentQuery.query(q)[0].digest,
        'the overrides loaded',
        ovr,
    );
    await typeInto(page, ovr, 'text', OVERRIDES_TEXT);
    // the field validates itself buffered after typing; a late run would clear the server's
    // error, so submit once the field has taken the whole text
    await waitFor(
        page,
        (q, text) => Ext.ComponentQuery.query(`${q} field[name=text]`)[0].lastValue === text,
        'the typed overrides',
        ovr,
        OVERRIDES_TEXT,
    );
    await clickButton(page, ovr, 'OK');
    await waitFor(page, () => Ext.Msg.isVisible(), 'the error');
    text = await page.evaluate(() => Ext.Msg.el.dom.innerText);
    like(text, /line 4: invalid keyword 'no_such_keyword'/, 'an overrides error shows its line');
    await page.screenshot({ path: `${OUT}/overrides-error.png` });
    like(
        await page.evaluate(
            (q) => Ext.ComponentQuery.query(`${q} field[name=text]`)[0].getActiveError(),
            ovr,
        ),
        /line 4/,
        'the text field is marked with it',
    );
    await clickButton(page, 'messagebox', 'OK');
    await page.evaluate((q) => Ext.ComponentQuery.query(q)[0].close(), ovr);

    const def = 'pveDcMultipathDefaultsEdit';
    await clickButton(page, 'pveDcMultipath toolbar', 'Defaults');
    await waitFor(
        page,
        (q) => !!Ext.ComponentQuery.query(q)[0]?.digest,
        'the defaults loaded',
        def,
    );
    await typeInto(page, def, 'polling-interval', '7');
    await clickButton(page, def, 'OK');
    await waitFor(
        page,
        (q) => !Ext.ComponentQuery.query(q).length,
        'the defaults window closed',
        def,
    );
    await clickButton(page, 'pveDcMultipath toolbar', 'Defaults');
    await waitFor(
        page,
        (q) => !!Ext.ComponentQuery.query(q)[0]?.digest,
        'the defaults loaded again',
        def,
    );
    is(
        await page.evaluate(
            (q) => Ext.ComponentQuery.query(`${q} field[name=polling-interval]`)[0].getValue(),
            def,
        ),
        7,
        'defaults edit: the new polling interval is stored',
    );
    await page.evaluate((q) => Ext.ComponentQuery.query(q)[0].close(), def);

    // polling runs while the panel is shown and ends with it
    let polls = 0;
    const countPolls = (request) => {
        polls += request.url().includes('/cluster/multipath/status') ? 1 : 0;
    };
    page.on('request', countPolls);
    await page.evaluate(() => Ext.ComponentQuery.query('pveDcMultipath')[0].rstore.startUpdate());
    await sleep(3500);
    ok(polls >= 1, 'the matrix polls while shown', { polls });
    await page.evaluate(() => Ext.ComponentQuery.query('pveDcMultipath')[0].destroy());
    polls = 0;
    await sleep(3500);
    is(polls, 0, 'and stops polling once destroyed');
    page.off('request', countPolls);
}

async function auditor(browser, errors) {
    const page = await openPage(browser, '?view=dc&user=auditor@pve', errors);
    await waitFor(
        page,
        () => Ext.ComponentQuery.query('pveDcMultipath')[0]?.getStore().getCount() > 0,
        'the matrix',
    );
    let buttons = await page.evaluate(() =>
        Ext.ComponentQuery.query('pveDcMultipath toolbar button').map((b) => b.getText()),
    );
    is(JSON.stringify(buttons), '["Reload"]', 'an audit-only user sees no edit controls');
    let wwid = (await rowWwids(page))[0];
    await clickRow(page, wwid, { clickCount: 2 });
    await sleep(500);
    is(
        await page.evaluate(
            () => Ext.ComponentQuery.query('window').filter((w) => w.isVisible()).length,
        ),
        0,
        'and a double click opens no editor',
    );
    await page.screenshot({ path: `${OUT}/matrix-auditor.png` });
    await page.close();
}

async function nodeView(browser, cluster, errors) {
    let page = await openPage(browser, '?view=node&node=pve2', errors);
    await waitFor(
        page,
        () => Ext.ComponentQuery.query('pveNodeMultipathMaps')[0]?.getStore().getCount() === 2,
        'the maps of pve2',
    );
    let mapReason = (await api('nodes/pve2/disks/multipath')).find((m) => m.wwid === LUN_A).reason;
    let row = await page.evaluate((wwid) => {
        let grid = Ext.ComponentQuery.query('pveNodeMultipathMaps')[0];
        let node = grid.getView().getNode(grid.getStore().getById(wwid));
        return node.innerText.replace(/\s+/g, ' ').trim();
    }, LUN_A);
    is(
        row,
        `san-a-lun0 35000c50015ea71ac degraded (expects 2) 1/2 ${mapReason} 100.00 GiB vmdata`,
        'a map with its health, reason, paths, size and storage',
    );
    await clickAt(
        page,
        await boxOf(
            page,
            (wwid) => {
                let grid = Ext.ComponentQuery.query('pveNodeMultipathMaps')[0];
                return grid
                    .getView()
                    .getNode(grid.getStore().getById(wwid))
                    .querySelector('.x-grid-row-expander');
            },
            LUN_A,
        ),
    );
    const rowBody = (wwid) => {
        let grid = Ext.ComponentQuery.query('pveNodeMultipathMaps')[0];
        let node = grid.getView().getNode(grid.getStore().getById(wwid));
        let body = node?.querySelector('.x-grid-rowbody');
        return body && body.offsetParent !== null ? body.innerText : '';
    };
    let body = await waitForValue(page, rowBody, /Path group 2/, 'the expanded map', LUN_A);
    like(
        body,
        /Path group 1[\s\S]*sda active \(running, ready, iscsi\)[\s\S]*Path group 2[\s\S]*sdb failed \(offline, faulty, iscsi\)/,
        'expanded: path groups and paths',
    );
    await page.screenshot({ path: `${OUT}/node.png` });
    await page.close();

    page = await openPage(browser, '?view=node&node=pve3', errors);
    const empty = () =>
        Ext.ComponentQuery.query('pveNodeMultipathMaps')[0]?.getView().el?.dom.innerText.trim();
    await waitForValue(page, empty, 'No multipath maps on this node.', 'no maps');
    is(await page.evaluate(empty), 'No multipath maps on this node.', 'empty: no maps');
    fs.writeFileSync(`${cluster}/nodes/pve3/multipathd`, 'stopped\n');
    await clickButton(page, 'pveNodeMultipathMaps toolbar', 'Reload');
    await waitForValue(page, empty, /not running/, 'not running');
    is(
        await page.evaluate(empty),
        'multipathd is not running on this node.',
        'empty: multipathd not running',
    );
    fs.unlinkSync(`${cluster}/nodes/pve3/multipathd`);
    await clickButton(page, 'pveNodeMultipathMaps toolbar', 'Reload');
    await waitForValue(page, empty, /not installed/, 'not installed');
    is(
        await page.evaluate(empty),
        'multipath-tools is not installed on this node.',
        'empty: multipath-tools not installed',
    );
    await page.close();
}

// --- the import dialog on pve1's node view ---

const IMPORT = 'pveNodeMultipathImport';

// what the dialog shows: its WWID rows (chosen or not), defaults, overrides and report rows
async function importShown(page) {
    return page.evaluate((q) => {
        let win = Ext.ComponentQuery.query(q)[0];
        let text = (dom) => dom.innerText.replace(/\s+/g, ' ').trim();
        let rows = (reference) => {
            let grid = win.lookup(reference);
            return grid
                .getStore()
                .getRange()
                .map((rec) => {
                    let node = grid.getView().getNode(rec);
                    // the cells of the columns (not the row checker)
                    let cells = [...node.querySelectorAll('.x-grid-cell')]
                        .filter((td) => !td.classList.contains('x-selmodel-column'))
                        .map(text);
                    return {
                        id: rec.data.wwid,
                        cells,
                        chosen: grid.getSelectionModel().isSelected(rec),
                    };
                });
        };
        return {
            wwids: rows('wwids'),
            report: rows('report').map((r) => r.cells),
            defaults: text(win.lookup('defaultsText').el.dom),
            overrides: win.lookup('overridesText').getValue(),
        };
    }, IMPORT);
}

// loaded, and the bindings have reached the controls (the Import button follows them)
const importLoaded = (q) => {
    let win = Ext.ComponentQuery.query(q)[0];
    let button = win?.down('toolbar button[text=Import]');
    return !!button && !button.isDisabled() && !win.el.isMasked(true);
};

async function openImport(page) {
    await clickButton(page, 'pveNodeMultipathMaps toolbar', 'Import');
    await waitFor(page, windowShown, 'the import window', IMPORT);
    await waitFor(page, importLoaded, 'the proposal', IMPORT);
}

async function clickCheckbox(page, reference) {
    await clickAt(
        page,
        await boxOf(
            page,
            (q, ref) => Ext.ComponentQuery.query(q)[0].lookup(ref).boxLabelEl,
            IMPORT,
            reference,
        ),
    );
}

async function clickChecker(page, wwid) {
    await clickAt(
        page,
        await boxOf(
            page,
            (q, wwid) => {
                let grid = Ext.ComponentQuery.query(q)[0].lookup('wwids');
                let node = grid.getView().getNode(grid.getStore().getById(wwid));
                return node.querySelector('.x-selmodel-column');
            },
            IMPORT,
            wwid,
        ),
    );
}

async function importDialog(browser, errors) {
    // the cluster's own polling interval differs from pve1's 5
    await apiWrite('PUT', 'cluster/multipath/defaults', { 'polling-interval': 7 });
    const page = await openPage(browser, '?view=node&node=pve1', errors);
    await waitFor(
        page,
        () => Ext.ComponentQuery.query('pveNodeMultipathMaps')[0]?.getStore().getCount() === 2,
        'the maps of pve1',
    );
    await openImport(page);
    let proposed = await api('nodes/pve1/disks/multipath/import');
    let shown = await importShown(page);

    is(
        JSON.stringify(shown.wwids.map((r) => r.id)),
        JSON.stringify(Object.keys(proposed.proposal.wwids).sort()),
        'the WWIDs of the proposal, from the node files and its allow-listed live maps',
    );
    ok(
        shown.wwids.every((r) => r.chosen),
        'every WWID is chosen at first',
    );
    let row = (id) => shown.wwids.find((r) => r.id === id)?.cells.join(' | ') ?? '';
    like(
        row(LUN_D),
        new RegExp(`^${LUN_D} \\| vmstore-d \\|  \\| new$`),
        'a new WWID with its alias',
    );
    like(
        row(LUN_B),
        /lun-b-local \|  \| alias: lun-b-local on this node, not set in the cluster config$/,
        'a WWID the cluster has: where the node differs',
    );
    is(shown.defaults, 'polling-interval 5, user-friendly-names yes', 'the proposed defaults');
    is(shown.overrides, proposed.proposal.overrides, 'the proposed overrides text');
    like(shown.overrides, /vendor "NETAPP"[\s\S]*checker_timeout 30/, 'devices and the rest');
    let report = shown.report.map((cells) => cells.join(' | '));
    ok(
        report.some((r) =>
            /^Stays on the node \| \S+\/pve1\/etc\/multipath\.conf:17 \| flush_on_last_del yes \| .*no knob/.test(
                r,
            ),
        ),
        'the report: a keyword that stays in the node file, with file and line',
        report,
    );
    ok(
        report.includes(
            'Differs from the cluster | defaults | polling-interval |' +
                ' polling-interval: 5 on this node, 7 in the cluster config',
        ),
        'the report: where this node differs from the cluster config',
        report,
    );
    ok(
        proposed.conflicts.length > 0 &&
            proposed.conflicts.every((c) =>
                report.includes(`Contradicts the cluster |  |  | ${c}`),
            ),
        "the report: where the node's own files contradict the cluster config",
        { report, conflicts: proposed.conflicts },
    );
    is(
        report.length,
        proposed.report.length +
            proposed.differences.length +
            proposed.changes.length +
            proposed.conflicts.length,
        'one report row for each item the API returns',
    );
    ok(
        report.some((r) => r.includes('<img src=x onerror=window.__injected=2>')),
        'markup in a node file shows as text in the report',
        report,
    );
    is(await page.evaluate(() => window.__injected), undefined, 'and does not run');
    await page.screenshot({ path: `${OUT}/import.png` });
    let clip = await page.evaluate((q) => {
        let r = Ext.ComponentQuery.query(q)[0].el.dom.getBoundingClientRect();
        return { x: r.x, y: r.y, width: r.width, height: r.height };
    }, IMPORT);
    await page.screenshot({ path: `${OUT}/import-dialog.png`, clip });

    // the node-local bindings names only when asked for
    const aliasOf = (q, wwid) =>
        Ext.ComponentQuery.query(q)[0].lookup('wwids').getStore().getById(wwid)?.data.alias ?? '';
    await clickCheckbox(page, 'useBindings');
    is(
        await waitForValue(page, aliasOf, 'mpatha', 'the bindings alias', IMPORT, LUN_A),
        'mpatha',
        'taking aliases from bindings proposes the node-local name',
    );
    await clickCheckbox(page, 'useBindings');
    is(
        await waitForValue(page, aliasOf, '', 'no bindings alias', IMPORT, LUN_A),
        '',
        'and unchecked, proposes none again',
    );
    await waitFor(page, importLoaded, 'the proposal again', IMPORT);

    // everything: the defaults conflict with the cluster's, the API refuses, nothing changes
    let before = await api('cluster/multipath');
    await clickButton(page, `${IMPORT} toolbar`, 'Import');
    await waitFor(page, () => Ext.Msg.isVisible(), 'the error');
    let text = await page.evaluate(() => Ext.Msg.el.dom.innerText);
    like(
        text,
        /import conflicts with the cluster config[\s\S]*defaults: polling-interval is '7' in the cluster config, '5' on the node/,
        "a conflict shows the API's message",
    );
    await page.screenshot({ path: `${OUT}/import-conflict.png` });
    await clickButton(page, 'messagebox', 'OK');
    is((await api('cluster/multipath')).digest, before.digest, 'and nothing was written');
    ok(await page.evaluate(windowShown, IMPORT), 'the window stays open to choose again');

    // chosen parts: without the defaults and without LUN_D
    await clickChecker(page, LUN_D);
    await clickCheckbox(page, 'importDefaults');
    shown = await importShown(page);
    is(
        JSON.stringify(shown.wwids.filter((r) => r.chosen).map((r) => r.id)),
        JSON.stringify([LUN_A, LUN_B]),
        'LUN_D is no longer chosen',
    );
    await clickButton(page, `${IMPORT} toolbar`, 'Import');
    await waitFor(page, (q) => !Ext.ComponentQuery.query(q).length, 'the window closed', IMPORT);
    let config = await api('cluster/multipath');
    let wwids = Object.fromEntries(config.wwids.map((w) => [w.wwid, w]));
    ok(!!wwids[LUN_A], 'the chosen WWIDs are in the cluster config', config.wwids);
    is(wwids[LUN_B]?.alias, 'lun-b-local', 'with the alias from the node file');
    ok(!wwids[LUN_D], 'a WWID not chosen is not imported');
    is(config.defaults['polling-interval'], 7, 'the defaults not chosen stay');
    like(
        (await api('cluster/multipath/overrides')).text,
        /vendor "NETAPP"[\s\S]*checker_timeout 30/,
        'the overrides are imported',
    );

    // the config changes after the dialog loaded: the digest it sends refuses the import
    await openImport(page);
    await apiWrite('PUT', `cluster/multipath/wwid/${LUN_C}`, { alias: 'changed-meanwhile' });
    await clickButton(page, `${IMPORT} toolbar`, 'Import');
    await waitFor(page, () => Ext.Msg.isVisible(), 'the digest error');
    like(
        await page.evaluate(() => Ext.Msg.el.dom.innerText),
        /detected modified configuration/,
        'a config changed since the proposal was loaded is refused',
    );
    await clickButton(page, 'messagebox', 'OK');
    await page.evaluate((q) => Ext.ComponentQuery.query(q)[0].close(), IMPORT);

    // the defaults again, now replacing the cluster's
    await openImport(page);
    for (let wwid of [LUN_A, LUN_B, LUN_D]) {
        await clickChecker(page, wwid);
    }
    await clickCheckbox(page, 'importOverrides');
    await clickCheckbox(page, 'overwrite');
    await clickButton(page, `${IMPORT} toolbar`, 'Import');
    await waitFor(page, (q) => !Ext.ComponentQuery.query(q).length, 'the window closed', IMPORT);
    config = await api('cluster/multipath');
    is(config.defaults['polling-interval'], 5, 'overwrite replaces what differs');
    ok(
        !config.wwids.some((w) => w.wwid === LUN_D),
        'and imports only the part chosen',
        config.wwids,
    );
    await page.close();

    const auditor = await openPage(browser, '?view=node&node=pve1&user=auditor@pve', errors);
    await waitFor(
        auditor,
        () => Ext.ComponentQuery.query('pveNodeMultipathMaps')[0]?.getStore().getCount() === 2,
        'the maps of pve1 for the auditor',
    );
    is(
        JSON.stringify(
            await auditor.evaluate(() =>
                Ext.ComponentQuery.query('pveNodeMultipathMaps toolbar button').map((b) =>
                    b.getText(),
                ),
            ),
        ),
        '["Reload"]',
        'an audit-only user gets no import',
    );
    await auditor.close();
}

async function main() {
    fs.mkdirSync(OUT, { recursive: true });
    const started = Date.now();
    const { server, url, cluster } = await startServer();
    globalThis.baseUrl = url;
    const browser = await puppeteer.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: [
            '--no-sandbox',
            '--disable-gpu',
            '--disable-dev-shm-usage',
            '--font-render-hinting=none',
        ],
        defaultViewport: { width: 1280, height: 800 },
    });
    const errors = [];
    try {
        const page = await matrix(browser, cluster, errors);
        await nodeView(browser, cluster, errors);
        await edits(page);
        await page.close();
        await auditor(browser, errors);
        await importDialog(browser, errors);
    } catch (err) {
        ok(false, `the run finished: ${err.stack}`);
    } finally {
        await browser.close();
        server.kill();
    }
    ok(errors.length === 0, 'no console error', errors);
    console.log(`1..${count}`);
    console.log(
        `# ${count - failed}/${count} passed in ${((Date.now() - started) / 1000).toFixed(1)} s; screenshots in ${OUT}`,
    );
    process.exit(failed ? 1 : 0);
}

main();
