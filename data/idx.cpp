// Placeholder: implementation pending.
namespace kiln {}
