// The test and demo page: logs in like the Proxmox VE login window does (ticket cookie, CSRF
// token, GuiCap), then shows one panel in a layout as wide as the real one: the 300 px resource
// tree on the left, the Datacenter or node menu, then the panel.
//
//   /?view=dc|node&node=pve1&user=root@pam|auditor@pve

Ext.onReady(() => {
    let params = Ext.Object.fromQueryString(window.location.search);
    let user = params.user || 'root@pam';
    let view = params.view || 'dc';

    Ext.state.Manager.setProvider(Ext.create('Ext.state.Provider'));
    Ext.tip.QuickTipManager.init();

    let show = () => {
        let panel =
            view === 'node'
                ? {
                      xtype: 'pveNodeMultipathMaps',
                      title: 'Multipath',
                      pveSelNode: { data: { node: params.node || 'pve1' } },
                  }
                : { xtype: 'pveDcMultipath', title: 'Multipath' };
        Ext.create('Ext.container.Viewport', {
            layout: 'border',
            items: [
                {
                    region: 'north',
                    height: 40,
                    bodyPadding: 10,
                    html: `pve-multipath panels (demo data), logged in as ${Ext.htmlEncode(user)}`,
                },
                {
                    region: 'west',
                    width: 300,
                    split: true,
                    title: 'Server View',
                    bodyPadding: 10,
                    html: view === 'node' ? Ext.htmlEncode(params.node || 'pve1') : 'Datacenter',
                },
                {
                    region: 'center',
                    xtype: 'tabpanel',
                    itemId: 'config',
                    tabPosition: 'left',
                    tabRotation: 0,
                    tabBar: { width: 190 },
                    items: [panel],
                },
            ],
        });
    };

    Ext.Ajax.request({
        url: '/api2/json/access/ticket',
        method: 'POST',
        params: { username: user },
        success: (response) => {
            let data = Ext.decode(response.responseText).data;
            Ext.util.Cookies.set('PVEAuthCookie', data.ticket);
            Proxmox.UserName = data.username;
            Proxmox.CSRFPreventionToken = data.CSRFPreventionToken;
            Ext.state.Manager.set('GuiCap', data.cap);
            show();
        },
        failure: (response) => Ext.Msg.alert('Error', `login failed: ${response.status}`),
    });
});
