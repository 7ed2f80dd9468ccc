-- ResNet-18/34 in torchvision's layout (torchvision.models.resnet): BasicBlock, downsample
-- Sequential(conv1x1, BatchNorm2d), avgpool, fc; the same module names, so state_dict keys
-- match torchvision's ("layer1.1.conv1.weight" with Sequential children numbered from 1).
-- local R = dofile("scripts/models/resnet.lua"); local m = R.resnet18({num_classes = 10})
local M = {}

local function conv3x3(inp, out, stride)
  return nn.Conv2d(inp, out, 3, { stride = stride or 1, padding = 1, groups = 1, bias = false, dilation = 1 })
end
local function conv1x1(inp, out, stride)
  return nn.Conv2d(inp, out, 1, { stride = stride or 1, bias = false })
end

local BasicBlock = nn.Module:extend("BasicBlock")
BasicBlock.expansion = 1
function BasicBlock:__init(inplanes, planes, stride, downsample)
  stride = stride or 1
  self.conv1 = conv3x3(inplanes, planes, stride)
  self.bn1 = nn.BatchNorm2d(planes)
  self.relu = nn.ReLU({ inplace = true })
  self.conv2 = conv3x3(planes, planes)
  self.bn2 = nn.BatchNorm2d(planes)
  if downsample then self.downsample = downsample end
  self.stride = stride
end
function BasicBlock:forward(x)
  local identity = x
  local out = self.relu(self.bn1(self.conv1(x)))
  out = self.bn2(self.conv2(out))
  if self.downsample then identity = self.downsample(x) end
  return self.relu(out + identity)
end
M.BasicBlock = BasicBlock

local ResNet = nn.Module:extend("ResNet")
function ResNet:__init(block, layers, opts)
  opts = opts or {}
  local num_classes = opts.num_classes or 1000
  self.inplanes = 64
  self.dilation = 1
  self.groups, self.base_width = 1, 64
  self.conv1 = nn.Conv2d(3, self.inplanes, 7, { stride = 2, padding = 3, bias = false })
  self.bn1 = nn.BatchNorm2d(self.inplanes)
  self.relu = nn.ReLU({ inplace = true })
  self.maxpool = nn.MaxPool2d(3, { stride = 2, padding = 1 })
  self.layer1 = self:_make_layer(block, 64, layers[1])
  self.layer2 = self:_make_layer(block, 128, layers[2], 2)
  self.layer3 = self:_make_layer(block, 256, layers[3], 2)
  self.layer4 = self:_make_layer(block, 512, layers[4], 2)
  self.avgpool = nn.AdaptiveAvgPool2d({ 1, 1 })
  self.fc = nn.Linear(512 * block.expansion, num_classes)
  -- torchvision's initialisation
  for _, m in ipairs(self:modules()) do
    if m.__name == "Conv2d" then
      nn.init.kaiming_normal_(m.weight, { mode = "fan_out", nonlinearity = "relu" })
    elseif m.__name == "BatchNorm2d" or m.__name == "GroupNorm" then
      nn.init.constant_(m.weight, 1)
      nn.init.constant_(m.bias, 0)
    end
  end
end
function ResNet:_make_layer(block, planes, blocks, stride)
  stride = stride or 1
  local downsample
  if stride ~= 1 or self.inplanes ~= planes * block.expansion then
    downsample = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, stride),
      nn.BatchNorm2d(planes * block.expansion))
  end
  local layers = { block(self.inplanes, planes, stride, downsample) }
  self.inplanes = planes * block.expansion
  for _ = 2, blocks do layers[#layers + 1] = block(self.inplanes, planes) end
  return nn.Sequential(table.unpack(layers))
end
function ResNet:forward(x)
  x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
  x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
  x = torch.flatten(self.avgpool(x), 2)
  return self.fc(x)
end
M.ResNet = ResNet

function M.resnet18(opts) return ResNet(BasicBlock, { 2, 2, 2, 2 }, opts) end
function M.resnet34(opts) return ResNet(BasicBlock, { 3, 4, 6, 3 }, opts) end

return M
