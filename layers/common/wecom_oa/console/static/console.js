// 工作台: progressive enhancement only; every page works without it.
// Charts: an element with data-chart='{"categories":[…],"series":[{"name":…,"data":[…]}]}' becomes an
// ECharts bar chart (echarts is served by us, see base.html).
(function () {
  function draw(el) {
    if (!window.echarts) { return; }
    var spec = JSON.parse(el.getAttribute("data-chart"));
    var chart = window.echarts.init(el, null, { renderer: "svg" });
    chart.setOption({
      animation: false,
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 48, right: 16, top: 32, bottom: 32 },
      xAxis: { type: "category", data: spec.categories },
      yAxis: { type: "value", name: spec.unit || "" },
      series: spec.series.map(function (s) { return { name: s.name, type: "bar", data: s.data }; })
    });
    el.setAttribute("data-rendered", "1");
    window.addEventListener("resize", function () { chart.resize(); });
  }
  document.querySelectorAll("[data-chart]").forEach(draw);
  // An action picker shows only the chosen action's form.
  var picker = document.getElementById("action-picker");
  if (picker) {
    var show = function () {
      document.querySelectorAll(".action-form").forEach(function (f) { f.hidden = f.getAttribute("data-action") !== picker.value; });
    };
    picker.addEventListener("change", show); show();
  }
})();
