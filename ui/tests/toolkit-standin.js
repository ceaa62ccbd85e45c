// Stand-ins for the few proxmox-widget-toolkit classes the multipath panels use. Written for
// these tests after reading the toolkit; they keep its rules where a friendlier stand-in would
// hide bugs (see ../../../shared/ui-testing.md and ui/README.md):
// - an edit window calls taskDone only through a task viewer (a UPID result with
//   showTaskViewer/showProgress/backgroundDelay), never after a plain submit;
// - readers keep ExtJS's keepRawData default (off), so reader.rawData is null;
// - the default column renderer is Ext.htmlEncode;
// - API2Request rewrites '/cluster/...' to '/api2/extjs/...', errors arrive as HTTP 200 with
//   success 0; a DELETE sends no body when the caller puts parameters in the query string;
// - every request carries the CSRFPreventionToken header;
// - UpdateStore loads only while authOK() (a user name and a PVEAuthCookie cookie).

window.gettext = (text) => text;

Ext.ns('Proxmox', 'Proxmox.Setup', 'PVE');
Proxmox.Setup.auth_cookie_name = 'PVEAuthCookie';
Proxmox.UserName = '';
Proxmox.CSRFPreventionToken = undefined;

Ext.Ajax.on('beforerequest', (_conn, options) => {
    if (Proxmox.CSRFPreventionToken) {
        options.headers = Object.assign({}, options.headers, {
            CSRFPreventionToken: Proxmox.CSRFPreventionToken,
        });
    }
});

Ext.define('Proxmox.standin.ColumnEncode', {
    override: 'Ext.grid.column.Column',
    renderer: Ext.htmlEncode,
});

Ext.define('Proxmox.Utils', {
    singleton: true,

    defaultText: 'Default',

    authOK: function () {
        let cookie = Ext.util.Cookies.get(Proxmox.Setup.auth_cookie_name);
        return Proxmox.UserName !== '' && !!cookie;
    },

    setErrorMask: function (comp, msg) {
        if (!comp.el) {
            return;
        }
        if (!msg) {
            comp.el.unmask();
        } else {
            comp.el.mask(msg === true ? 'Loading...' : msg);
        }
    },

    responseErrorText: function (error) {
        if (!error.statusText) {
            return 'Connection error';
        }
        return `${error.statusText} (${error.status})`;
    },

    monStoreErrors: function (component, store) {
        component.mon(store, 'beforeload', () => Proxmox.Utils.setErrorMask(component, false));
        component.mon(store.proxy, 'afterload', (_proxy, request, success) => {
            if (success) {
                Proxmox.Utils.setErrorMask(component, false);
                return;
            }
            let msg = Proxmox.Utils.responseErrorText(request._operation.getError());
            Proxmox.Utils.setErrorMask(component, Ext.htmlEncode(msg));
        });
    },

    extractRequestError: function (result, verbose) {
        if (result.success) {
            return 'Successful';
        }
        let msg = result.message ? Ext.htmlEncode(result.message) : 'Unknown error';
        if (verbose && Ext.isObject(result.errors)) {
            msg += '<br>';
            for (const [key, text] of Object.entries(result.errors)) {
                msg += `<br><b>${Ext.htmlEncode(key)}</b>: ${Ext.htmlEncode(text)}`;
            }
        }
        return msg;
    },

    API2Request: function (options) {
        let request = Object.assign({}, options);
        if (!/^\/api2/.test(request.url)) {
            request.url = `/api2/extjs${request.url}`;
        }
        let target = request.waitMsgTarget;
        let done = () => target && target.rendered && target.setLoading(false);
        if (target && target.rendered) {
            target.setLoading('Please wait...');
        }
        let alertErrors = typeof options.failure !== 'function';
        delete request.callback;
        request.success = (response, opts) => {
            done();
            let result = Ext.decode(response.responseText);
            response.result = result;
            if (!result.success) {
                response.htmlStatus = Proxmox.Utils.extractRequestError(result, true);
                Ext.callback(options.failure, options.scope, [response, opts]);
                if (alertErrors) {
                    Ext.Msg.alert('Error', response.htmlStatus);
                }
                return;
            }
            Ext.callback(options.success, options.scope, [response, opts]);
        };
        request.failure = (response, opts) => {
            done();
            response.result = {};
            response.htmlStatus = Ext.htmlEncode(
                `Connection error ${response.status}: ${response.statusText}`,
            );
            Ext.callback(options.failure, options.scope, [response, opts]);
        };
        Ext.Ajax.request(request);
    },

    assemble_field_data: function (values, data) {
        if (!Ext.isObject(data)) {
            return;
        }
        for (const [name, value] of Object.entries(data)) {
            if (!Object.hasOwn(values, name)) {
                values[name] = value;
                continue;
            }
            let bucket = Ext.isArray(values[name]) ? values[name] : [values[name]];
            values[name] = bucket.concat(value);
        }
    },

    format_size: function (size) {
        let units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
        let order = 0;
        while (size >= 1024 && order < units.length - 1) {
            size /= 1024;
            order++;
        }
        return `${order ? size.toFixed(2) : size} ${units[order]}`;
    },
});

Ext.define('Proxmox.RestProxy', {
    extend: 'Ext.data.RestProxy',
    alias: 'proxy.proxmox',

    pageParam: null,
    startParam: null,
    limitParam: null,
    groupParam: null,
    sortParam: null,
    filterParam: null,
    noCache: false,

    afterRequest: function (request, success) {
        this.fireEvent('afterload', this, request, success);
    },

    constructor: function (config) {
        Ext.applyIf(config, {
            reader: { type: 'json', rootProperty: config.root || 'data' },
        });
        this.callParent([config]);
    },
});

Ext.define('Proxmox.data.UpdateStore', {
    extend: 'Ext.data.Store',
    alias: 'store.update',

    interval: 3000,
    stopped: true,

    constructor: function (config) {
        let me = this;
        me.callParent([config]);
        me.loadTask = new Ext.util.DelayedTask(() => {
            if (me.stopped) {
                return;
            }
            if (!Proxmox.Utils.authOK()) {
                me.loadTask.delay(200);
                return;
            }
            me.load(() => !me.stopped && me.loadTask.delay(me.interval));
        });
    },

    startUpdate: function () {
        this.stopped = false;
        this.loadTask.delay(1);
    },

    stopUpdate: function () {
        this.stopped = true;
        this.loadTask.cancel();
    },

    destroy: function () {
        this.stopUpdate();
        this.callParent();
    },
});

// Mirrors the rows of a polling store into itself and changes only what changed, so a grid
// keeps its selection and expanded rows across polls.
Ext.define('Proxmox.data.DiffStore', {
    extend: 'Ext.data.Store',
    alias: 'store.diff',

    constructor: function (config) {
        let me = this;
        let rstore = config.rstore;
        if (!rstore?.isInstance || !rstore.model) {
            throw 'DiffStore stand-in: rstore must be a store instance with a model';
        }
        me.callParent([Object.assign({}, config, { model: rstore.model, proxy: 'memory' })]);
        me.rstore = rstore;

        let sync = (_store, _records, success) => {
            if (!success) {
                return;
            }
            me.suspendEvents();
            let source = me.getData().getSource() || me.getData();
            source.getRange().forEach((old) => {
                if (!rstore.getById(old.getId())) {
                    me.remove(old);
                }
            });
            rstore.each((item) => {
                let old = me.getById(item.getId());
                if (!old) {
                    me.add(Ext.create(me.model, item.data));
                    return;
                }
                old.beginEdit();
                me.model.prototype.fields.forEach((field) => {
                    if (old.data[field.name] !== item.data[field.name]) {
                        old.set(field.name, item.data[field.name]);
                    }
                });
                old.endEdit(true);
                old.commit();
            });
            me.filter();
            me.resumeEvents();
            me.fireEvent('refresh', me);
            me.fireEvent('datachanged', me);
        };
        me.mon(rstore, 'load', sync);
    },
});

Ext.define('Proxmox.form.field.Textfield', {
    extend: 'Ext.form.field.Text',
    alias: 'widget.proxmoxtextfield',

    config: { deleteEmpty: false },

    getSubmitData: function () {
        let me = this;
        if (me.disabled || !me.submitValue) {
            return null;
        }
        let value = me.processRawValue(me.getRawValue());
        if (value !== '') {
            return { [me.getName()]: value };
        }
        return me.getDeleteEmpty() ? { delete: me.getName() } : null;
    },
});

Ext.define('Proxmox.form.field.Integer', {
    extend: 'Ext.form.field.Number',
    alias: 'widget.proxmoxintegerfield',

    config: { deleteEmpty: false },
    allowDecimals: false,
    allowExponential: false,

    getSubmitData: function () {
        let me = this;
        if (me.disabled || !me.submitValue) {
            return null;
        }
        let value = me.getSubmitValue();
        if (value !== null && value !== undefined && value !== '') {
            return { [me.getName()]: value };
        }
        return me.getDeleteEmpty() ? { delete: me.getName() } : null;
    },
});

Ext.define('Proxmox.form.KVComboBox', {
    extend: 'Ext.form.field.ComboBox',
    alias: 'widget.proxmoxKVComboBox',

    config: { deleteEmpty: true },
    comboItems: undefined,
    displayField: 'value',
    valueField: 'key',
    queryMode: 'local',
    editable: false,

    getSubmitData: function () {
        let me = this;
        if (me.disabled || !me.submitValue) {
            return null;
        }
        let value = me.getSubmitValue();
        if (value !== null && value !== '' && value !== '__default__') {
            return { [me.getName()]: value };
        }
        return me.getDeleteEmpty() ? { delete: me.getName() } : null;
    },

    initComponent: function () {
        let me = this;
        me.store = Ext.create('Ext.data.ArrayStore', {
            fields: ['key', 'value'],
            data: me.comboItems,
        });
        me.callParent();
    },
});

Ext.define('Proxmox.panel.InputPanel', {
    extend: 'Ext.panel.Panel',
    alias: 'widget.inputpanel',

    border: false,

    onGetValues: (values) => values,
    onSetValues: (values) => values,

    getValues: function () {
        let me = this;
        let values = {};
        me.query('[isFormField]').forEach((field) =>
            Proxmox.Utils.assemble_field_data(values, field.getSubmitData()),
        );
        return me.onGetValues(values);
    },

    setValues: function (values) {
        let me = this;
        let form = me.up('form');
        for (const [name, value] of Object.entries(me.onSetValues(values))) {
            me.query(`[isFormField][name=${name}]`).forEach((field) => {
                field.setValue(value);
                if (form.trackResetOnLoad) {
                    field.resetOriginalValue();
                }
            });
        }
    },

    initComponent: function () {
        let me = this;
        if (me.items) {
            me.items = [{ xtype: 'container', layout: 'anchor', items: me.items }];
        } else {
            me.layout = 'hbox';
            me.items = [me.column1, me.column2].map((items) => ({
                xtype: 'container',
                layout: 'anchor',
                flex: 1,
                padding: '0 10 0 0',
                items: items ?? [],
            }));
        }
        me.callParent();
    },
});

Ext.define('Proxmox.window.Edit', {
    extend: 'Ext.window.Window',
    alias: 'widget.proxmoxWindowEdit',

    modal: true,
    resizable: false,
    width: 400,
    isCreate: false,
    digest: undefined,
    showProgress: false,
    showTaskViewer: false,
    backgroundDelay: 0,
    taskDone: Ext.emptyFn,
    apiCallDone: Ext.emptyFn,
    autoLoad: false,
    autoLoadOptions: undefined,
    loadUrl: undefined,

    getValues: function () {
        let me = this;
        let values = {};
        me.formPanel
            .getForm()
            .getFields()
            .each((field) => {
                if (!field.up('inputpanel')) {
                    Proxmox.Utils.assemble_field_data(values, field.getSubmitData());
                }
            });
        me.query('inputpanel').forEach((panel) =>
            Proxmox.Utils.assemble_field_data(values, panel.getValues()),
        );
        return values;
    },

    setValues: function (values) {
        let me = this;
        let form = me.formPanel.getForm();
        form.getFields().each((field) => {
            if (!field.up('inputpanel') && Object.hasOwn(values, field.name)) {
                field.setValue(values[field.name]);
                field.resetOriginalValue();
            }
        });
        me.query('inputpanel').forEach((panel) => panel.setValues(values));
    },

    submit: function () {
        let me = this;
        let form = me.formPanel.getForm();
        let values = me.getValues();
        if (me.digest) {
            values.digest = me.digest;
        }
        let url = me.url;
        if (me.method === 'DELETE') {
            url += `?${Ext.Object.toQueryString(values)}`;
            values = undefined;
        }
        Proxmox.Utils.API2Request({
            url: url,
            method: me.method || 'PUT',
            params: values,
            waitMsgTarget: me,
            failure: (response, options) => {
                me.apiCallDone(false, response, options);
                if (response.result?.errors) {
                    form.markInvalid(response.result.errors);
                }
                Ext.Msg.alert('Error', response.htmlStatus);
            },
            success: (response, options) => {
                me.apiCallDone(true, response, options);
                let upid = response.result.data;
                if ((me.backgroundDelay || me.showProgress || me.showTaskViewer) && upid) {
                    // the real toolkit shows a task window that calls taskDone when it ends
                    throw 'Proxmox.window.Edit stand-in: task viewers are not supported';
                }
                me.close();
            },
        });
    },

    load: function (options) {
        let me = this;
        options = options ?? {};
        let url = Ext.isFunction(me.loadUrl) ? me.loadUrl(me.url, me.initialConfig) : me.loadUrl;
        Proxmox.Utils.API2Request({
            url: url || me.url,
            method: 'GET',
            waitMsgTarget: me,
            failure: (response) => Ext.Msg.alert('Error', response.htmlStatus, () => me.close()),
            success: (response, opts) => {
                me.formPanel.getForm().clearInvalid();
                me.digest = response.result.data?.digest;
                if (options.success) {
                    options.success(response, opts);
                } else {
                    me.setValues(response.result.data);
                }
            },
        });
    },

    initComponent: function () {
        let me = this;
        if (!me.url) {
            throw "Proxmox.window.Edit stand-in: no 'url'";
        }
        let items = Ext.isArray(me.items) ? me.items : [me.items];
        me.items = undefined;
        me.formPanel = Ext.create('Ext.form.Panel', {
            trackResetOnLoad: true,
            bodyPadding: 10,
            border: false,
            fieldDefaults: { labelWidth: 100, anchor: '100%' },
            items: items,
        });
        let form = me.formPanel.getForm();
        let submitButton = Ext.create('Ext.button.Button', {
            reference: 'submitbutton',
            text: me.isCreate ? 'Add' : 'OK',
            disabled: !me.isCreate,
            handler: () => me.submit(),
        });
        // validity and dirtiness reach the button buffered, as in the toolkit
        let update = () => {
            let valid = form.isValid();
            let dirty = form.isDirty();
            submitButton.setDisabled(!valid || !(dirty || me.isCreate));
        };
        form.on('dirtychange', update, null, { buffer: 50 });
        form.on('validitychange', update, null, { buffer: 50 });
        let subject = me.subject ?? '';
        Ext.apply(me, {
            title: me.isCreate ? `Add: ${subject}` : `Edit: ${subject}`,
            items: me.formPanel,
            buttons: [submitButton],
        });
        me.callParent();
        if (me.autoLoad) {
            me.load(me.autoLoadOptions);
        }
    },
});
