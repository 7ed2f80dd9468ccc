-- nn.Embedding(num_embeddings, embedding_dim, padding_idx=nil, ...): weight ~ N(0, 1), the
-- padding_idx row (1-based; negative counts from the end) zeroed and given no gradient.
local torch = require "torch"
local nn = require "nn"
local U = require "nn._util"
local Embedding = nn.Module:extend("Embedding")
function Embedding:__init(...)
  local a = U.args("Embedding", { "num_embeddings", "embedding_dim", "padding_idx", "max_norm", "norm_type",
    "scale_grad_by_freq", "sparse", "_weight", "_freeze", "device", "dtype" },
    { norm_type = 2.0, scale_grad_by_freq = false, sparse = false, _freeze = false }, ...)
  local n, d = a.num_embeddings, a.embedding_dim
  if math.type(n) ~= "integer" or math.type(d) ~= "integer" then
    error("Embedding: num_embeddings and embedding_dim must be integers", 2)
  end
  local pi = a.padding_idx
  if pi ~= nil then
    if pi > 0 then
      if pi > n then error("Embedding: padding_idx must be within num_embeddings", 2) end
    elseif pi < 0 then
      if pi < -n then error("Embedding: padding_idx must be within num_embeddings", 2) end
      pi = n + pi + 1
    else
      error("Embedding: padding_idx is 1-based; 0 is not a valid index", 2)
    end
  end
  if a.max_norm ~= nil then error("Embedding: max_norm is not supported", 2) end
  self.num_embeddings, self.embedding_dim, self.padding_idx = n, d, pi
  self.max_norm, self.norm_type, self.scale_grad_by_freq, self.sparse = a.max_norm, a.norm_type,
    a.scale_grad_by_freq, a.sparse
  if a._weight then
    self.weight = nn.Parameter(a._weight, not a._freeze)
  else
    self.weight = nn.Parameter(torch.empty({ n, d }, U.opts(a)), not a._freeze)
    self:reset_parameters()
  end
end
function Embedding:reset_parameters()
  nn.init.normal_(self.weight)
  if self.padding_idx then
    local w, pi = self.weight, self.padding_idx
    torch.no_grad(function() w[pi]:fill_(0) end)
  end
end
function Embedding:forward(idx) return U.F().embedding(idx, self.weight, self.padding_idx) end
function Embedding:extra_repr()
  local s = string.format("%d, %d", self.num_embeddings, self.embedding_dim)
  if self.padding_idx then s = s .. ", padding_idx=" .. self.padding_idx end
  if self.scale_grad_by_freq then s = s .. ", scale_grad_by_freq=True" end
  if self.sparse then s = s .. ", sparse=True" end
  return s
end
-- Embedding.from_pretrained(embeddings, freeze=true, padding_idx=nil)
function Embedding.from_pretrained(emb, freeze, padding_idx)
  if type(freeze) == "table" then freeze, padding_idx = freeze.freeze, freeze.padding_idx end
  if freeze == nil then freeze = true end
  if emb:dim() ~= 2 then error("Embedding.from_pretrained: embeddings parameter is expected to be 2-dimensional", 2) end
  return Embedding(emb:size(1), emb:size(2), { padding_idx = padding_idx, _weight = emb, _freeze = freeze })
end
return Embedding
