/// The page's stylesheet and script, inlined so `report.html` needs nothing but itself: no network, no
/// fonts, no libraries. The script only adds zoom and pan to the drawings and the expand/collapse
/// buttons; everything it acts on is already in the page, so the report reads the same without it.
enum PageStyle {
    static let css = """
    :root{--fg:#1d2329;--muted:#5f6b76;--line:#d5dbe1;--bg:#fff;--panel:#f5f7f9;--drop:#d32f2f}
    *{box-sizing:border-box}
    body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--fg);background:var(--bg);margin:0 auto;max-width:1440px;padding:16px 20px 40px}
    h1{font-size:22px;margin:0 0 4px}
    header p{margin:2px 0;color:var(--muted)}
    code,.mono{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,monospace;font-size:12.5px}
    nav{margin:10px 0 14px;display:flex;gap:12px;flex-wrap:wrap}
    nav a{color:#0b61a4;text-decoration:none}
    details{border:1px solid var(--line);border-radius:6px;margin:12px 0;background:var(--bg)}
    details>summary{cursor:pointer;padding:8px 12px;font-weight:600;background:var(--panel);border-radius:6px}
    details[open]>summary{border-bottom:1px solid var(--line);border-radius:6px 6px 0 0}
    details>.body{padding:10px 12px;overflow-x:auto}
    details details{margin:8px 0}
    table{border-collapse:collapse;width:100%;font-size:13px}
    th,td{text-align:left;padding:4px 8px;border-bottom:1px solid var(--line);vertical-align:top}
    th{background:var(--panel);font-weight:600}
    td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
    .bad{color:var(--drop);font-weight:600}
    .ok{color:#2e7d32}
    .bar{display:inline-block;width:90px;height:9px;background:#f0c7c7;border-radius:2px;vertical-align:middle;margin-right:6px;overflow:hidden}
    .bar>i{display:block;height:100%;background:#43a047}
    .warn{background:#fff8e1;border:1px solid #ffe082;padding:6px 10px;border-radius:4px;margin:6px 0}
    .tools{margin:0 0 6px;display:flex;gap:6px;align-items:center;flex-wrap:wrap;color:var(--muted);font-size:12px}
    button{font:inherit;font-size:12px;padding:2px 9px;border:1px solid var(--line);border-radius:4px;background:#fff;cursor:pointer}
    .legend span{display:inline-flex;align-items:center;gap:4px;margin-right:10px}
    .legend i{display:inline-block;width:18px;height:4px;border-radius:2px}
    svg{display:block;max-width:100%;height:auto;background:#fcfdfe;border:1px solid var(--line);border-radius:4px;cursor:grab;touch-action:none;user-select:none}
    svg text{font-size:11px;fill:var(--fg)}
    svg .sub{fill:var(--muted);font-size:10px}
    .group rect{fill:#eef3f8;stroke:#c9d6e3}
    .group text{fill:var(--muted);font-size:11px}
    .node rect{fill:#fff;stroke:#3b6e99;stroke-width:1.3}
    .node .name{font-weight:600;font-size:12px}
    .node .workload{font-size:10.5px}
    .device rect{fill:#e8eef5;stroke:#45617d;stroke-width:1.3}
    .device.switch rect{fill:#eef2e6;stroke:#60723c}
    .device.hub rect{fill:#f2eef8;stroke:#6c5a8c}
    .link,.spoke{stroke-width:3;stroke-linecap:round}
    .link.lossy{stroke-dasharray:6 3}
    .bus{fill:none;stroke:#8f84a8;stroke-width:2.5}
    .u0{stroke:#c4cad0;stroke-dasharray:3 4}.u1{stroke:#66bb6a}.u2{stroke:#c0ca33}.u3{stroke:#ffa000}.u4{stroke:#e53935}
    .legend .u0{background:#c4cad0}.legend .u1{background:#66bb6a}.legend .u2{background:#c0ca33}.legend .u3{background:#ffa000}.legend .u4{background:#e53935}
    .firewall rect{fill:#b71c1c;stroke:#fff}.firewall text{fill:#fff;font-size:10px;font-weight:700}
    .policy rect{fill:#6a1b9a}.policy text{fill:#fff;font-size:8.5px;font-weight:700}
    .policy.unenforced rect{fill:#b39ddb}
    .drop-mark circle,.drop circle{fill:var(--drop);stroke:#fff;stroke-width:1.5}
    .drop-mark text,.drop text{fill:#fff;font-size:10px;font-weight:700}
    .drop text.code{fill:var(--drop);font-size:9.5px;font-weight:600}
    .hop rect{fill:#fff;stroke:#3b6e99}.hop.endpoint rect{fill:#eef7ee;stroke:#2e7d32}.hop.router rect,.hop.switch rect{fill:#e8eef5;stroke:#45617d}
    .hop-link{stroke:#8aa0b4;stroke-width:2}
    .lifeline rect{fill:#e8eef5;stroke:#45617d}.lifeline line{stroke:#9fb0bf;stroke-dasharray:4 3}
    .sequence .arrow{stroke:#2f5f8a;stroke-width:1.4}.sequence path.head{fill:#2f5f8a}
    .sequence circle{fill:#2f5f8a}.sequence .cross{stroke:var(--drop);stroke-width:2.4}
    .sequence .time{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:10.5px;fill:var(--muted)}
    .sequence .comment{font-size:10.5px}.sequence .dropped .comment{fill:var(--drop);font-weight:600}
    .sequence .step:hover .comment{fill:#0b61a4}
    .podlist{columns:3 280px;font-size:12px;margin:4px 0}
    .podlist div{break-inside:avoid}
    footer{margin-top:24px;color:var(--muted);font-size:12px}
    """

    /// Zoom (wheel, buttons) and pan (drag) by rewriting each drawing's `viewBox`; expand and collapse all
    /// sections. Vanilla DOM, no globals beyond one function's scope.
    static let script = """
    (function(){
      "use strict";
      function setup(svg){
        var base=svg.viewBox.baseVal, start={x:base.x,y:base.y,w:base.width,h:base.height}, view={x:base.x,y:base.y,w:base.width,h:base.height};
        function apply(){svg.setAttribute("viewBox",view.x+" "+view.y+" "+view.w+" "+view.h);}
        function zoom(factor,cx,cy){
          var w=Math.min(Math.max(view.w*factor,start.w/40),start.w*4), k=w/view.w;
          view.x=cx-(cx-view.x)*k; view.y=cy-(cy-view.y)*k; view.w=w; view.h=view.h*k; apply();
        }
        function point(event){
          var r=svg.getBoundingClientRect();
          return {x:view.x+(event.clientX-r.left)/r.width*view.w, y:view.y+(event.clientY-r.top)/r.height*view.h};
        }
        svg.addEventListener("wheel",function(event){
          event.preventDefault(); var p=point(event); zoom(event.deltaY<0?0.8:1.25,p.x,p.y);
        },{passive:false});
        var drag=null;
        svg.addEventListener("pointerdown",function(event){drag={x:event.clientX,y:event.clientY,vx:view.x,vy:view.y};svg.setPointerCapture(event.pointerId);});
        svg.addEventListener("pointermove",function(event){
          if(!drag)return; var r=svg.getBoundingClientRect();
          view.x=drag.vx-(event.clientX-drag.x)/r.width*view.w; view.y=drag.vy-(event.clientY-drag.y)/r.height*view.h; apply();
        });
        svg.addEventListener("pointerup",function(){drag=null;});
        svg.addEventListener("dblclick",function(){view={x:start.x,y:start.y,w:start.w,h:start.h};apply();});
        return {
          "in":function(){zoom(0.8,view.x+view.w/2,view.y+view.h/2);},
          "out":function(){zoom(1.25,view.x+view.w/2,view.y+view.h/2);},
          "reset":function(){view={x:start.x,y:start.y,w:start.w,h:start.h};apply();}
        };
      }
      var controls={};
      Array.prototype.forEach.call(document.querySelectorAll("svg.zoomable"),function(svg,i){
        if(!svg.id)svg.id="drawing-"+i; controls[svg.id]=setup(svg);
      });
      Array.prototype.forEach.call(document.querySelectorAll("button[data-zoom]"),function(button){
        button.addEventListener("click",function(){var c=controls[button.getAttribute("data-target")]; if(c)c[button.getAttribute("data-zoom")]();});
      });
      Array.prototype.forEach.call(document.querySelectorAll("button[data-details]"),function(button){
        button.addEventListener("click",function(){
          var open=button.getAttribute("data-details")==="open";
          Array.prototype.forEach.call(document.querySelectorAll("details"),function(d){d.open=open;});
        });
      });
      document.documentElement.setAttribute("data-ready","true");
    })();
    """
}
