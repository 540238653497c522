"""What the app's pages share that is Streamlit's: the sidebar (controls), drawing (render), the page list,
the browser sensors (room, focus) and the garbage collector's settings (heap).

What draws a trace without Streamlit (charts, layout, texts, checks, exports, the lesson file) is in
``attention_viz``.
"""
