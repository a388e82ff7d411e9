// ipywidgets' HTML manager typesets widget labels through MathJax 2's MathJax.Hub.Queue,
// but the book ships MathJax 3, which has no Hub: on a page with formulas every widget
// label threw "Cannot read properties of undefined (reading 'Queue')". This gives whatever
// object window.MathJax holds (MathJax 3's configuration, then MathJax 3 itself, which
// replaces it) a Hub whose Queue typesets the element with MathJax 3's typesetPromise.
(function () {
  function addHub(mj) {
    if (mj && typeof mj === "object" && !mj.Hub) {
      mj.Hub = {
        Queue: function (job) {
          var element = Array.isArray(job) ? job[2] : null;
          var current = window.MathJax;
          if (element && current && typeof current.typesetPromise === "function") {
            current.typesetPromise([element]).catch(function () {});
          }
        }
      };
    }
    return mj;
  }
  var current = addHub(window.MathJax);
  try {
    Object.defineProperty(window, "MathJax", {
      configurable: true,
      get: function () { return current; },
      set: function (value) { current = addHub(value); }
    });
  } catch (e) {
    // window.MathJax cannot be redefined here: leave it as it is
  }
})();
